import { z } from "zod";
import { Id } from "@oms/shared";
import { RETRIABLE_QUEUES } from "../admin/operations";

/** Every path parameter, by the name the route table's paths give it. */
export const PATH_PARAMS: Readonly<Record<string, z.ZodType>> = {
  clientID: Id.describe("The client"),
  productID: Id.describe("The product"),
  orderId: z.uuid().describe("The order"),
  queue: z.enum(RETRIABLE_QUEUES).describe("The queue"),
  id: z.uuid().describe("The endpoint's id"),
};
