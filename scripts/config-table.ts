import { configTableMarkdown } from "@oms/shared";

console.log(configTableMarkdown());
