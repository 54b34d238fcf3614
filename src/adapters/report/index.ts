import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sql } from '../postgres/client.ts';
import { renderReportPage } from './page.ts';
import { loadReportData, type ReportRequest } from './report-data.ts';

export { loadReportData, type ReportData, type ReportRequest } from './report-data.ts';
export { renderReportPage } from './page.ts';
export { writeReportPng } from './png.ts';

export interface WriteReportOptions extends ReportRequest {
  /** Where to write the HTML file; parent folders are created. */
  readonly out: string;
}

/** Writes the self-contained HTML report of one series and period; returns its absolute path. */
export async function writeReport(sql: Sql, options: WriteReportOptions): Promise<string> {
  const data = await loadReportData(sql, options);
  const file = path.resolve(options.out);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, renderReportPage(data));
  return file;
}
