/**
 * What the report makes of one section of results.json (report/renderers.ts): its part of
 * report.md and the charts that part embeds.
 */

export interface Chart {
  /** File name inside the result folder, e.g. `rpc-throughput.svg`. */
  file: string;
  title: string;
  svg: string;
}

export interface Rendered {
  markdown: string;
  charts: Chart[];
}
