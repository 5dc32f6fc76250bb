/** Types for the untyped `cluster-key-slot` package (CommonJS), used by cluster-slots.test.ts. */
declare module "cluster-key-slot" {
  /** The Redis Cluster slot (0..16383) of a key, honouring hash tags. */
  function calculateSlot(key: string | Buffer): number;
  namespace calculateSlot {
    /** The common slot of all keys, or -1 when they do not share one. */
    function generateMulti(keys: Array<string | Buffer>): number;
  }
  export = calculateSlot;
}
