/**
 * One remote-write time series: the shape shared by the remote-write
 * client (`remote_write.ts`) and its lazily loaded codecs (`codecs.ts`).
 *
 * @module
 */

/** One time series with one sample. */
export interface Series {
  /** Label pairs, `__name__` included, sorted by name. */
  labels: [string, string][];
  /** The sample's value. */
  value: number;
}
