/**
 * Prints the adversarial case table for docs/ERRORS.md (between its `cases:begin` and `cases:end`
 * markers); the suite fails when the document and the table it runs drift apart.
 *
 *   pnpm exec tsx test/adversarial/print-table.ts
 *
 * Paste the rows in, then `pnpm biome format --write docs/ERRORS.md` (it pads the columns).
 */
import { caseTableMarkdown } from "./docs-table.ts";

process.stdout.write(`${caseTableMarkdown()}\n`);
