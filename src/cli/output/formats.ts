/** The output format names, apart from the formatters (index.ts), so that an option can list them without loading those. */
export const OUTPUT_FORMATS = ['json', 'yaml', 'csv', 'dotenv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
