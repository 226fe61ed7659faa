/**
 * The README's cost table is generated from the price table in src/cost/estimate.ts, the one
 * `plan`, `up` and `status` estimate with: this test renders it for `up`'s default options (read
 * from the CLI itself) and fails when the README's copy differs, printing the block to paste.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../src/cli.js';
import { upConfig, type UpOptions } from '../../../src/commands/up.js';
import { COST_TABLE_BEGIN, COST_TABLE_END, costTableMarkdown, estimateCost, PRICE_TABLE } from '../../../src/cost/estimate.js';
import { MAX_AVAILABILITY_ZONES } from '../../../src/steps/network.js';

/** The stack `ecs-ha up` makes with no option: its defaults as the CLI parses them, in as many zones as up takes. */
function defaultStack() {
  const up = buildProgram().commands.find((command) => command.name() === 'up')!;
  const defaults = Object.fromEntries(up.options.filter((option) => option.defaultValue !== undefined).map((option) => [option.attributeName(), option.defaultValue]));
  const config = upConfig({ ...defaults, stack: 'ecs-ha', stateDir: '.ecs-ha' } as UpOptions);
  return { count: config.count, cpu: config.cpu, memory: config.memory, arch: config.arch, zones: MAX_AVAILABILITY_ZONES };
}

describe("the README's cost table", () => {
  it('is the one rendered from the price table for the defaults', () => {
    const readme = readFileSync('README.md', 'utf8');
    const expected = costTableMarkdown(defaultStack());
    const start = readme.indexOf(COST_TABLE_BEGIN);
    const end = readme.indexOf(COST_TABLE_END);
    const actual = start >= 0 && end > start ? readme.slice(start, end + COST_TABLE_END.length) : '(no generated cost table in README.md)';
    expect(actual, `README.md's cost table is not the one src/cost/estimate.ts renders; replace it (markers included) with:\n\n${expected}\n`).toBe(expected);
  });

  it('adds up what the estimate adds up, at the prices of the table, and says their region and date', () => {
    const stack = defaultStack();
    const table = costTableMarkdown(stack);
    const estimate = estimateCost({ ...stack, region: PRICE_TABLE.region });
    expect(table).toContain(`| Item | Price (${PRICE_TABLE.region}, ${PRICE_TABLE.takenOn}) | While up |`);
    for (const item of estimate.items) expect(table).toContain(`| ${item.price} | $${item.perHour.toFixed(4)}/h |`);
    expect(table).toContain(`**$${estimate.perHour.toFixed(4)}/h, $${estimate.perMonth.toFixed(2)}/month**`);
    for (const { item, price } of PRICE_TABLE.byUse) expect(table).toContain(`| ${item} | ${price} | not in the estimate: by use |`);
  });
});
