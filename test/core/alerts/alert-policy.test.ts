import { describe, expect, it } from 'vitest';
import { DEFAULT_ALERT_SETTINGS } from '#core/alert-model.ts';
import { describeFinding, findAnomalies, passes, settingsInForce } from '#core/alerts/alert-policy.ts';
import type { StoredComparison } from '#core/compare-model.ts';
import type { ObjectType, PropertyDefinition } from '#core/model.ts';

const property = (name: string, managed = false): PropertyDefinition => ({ name, label: name, type: 'string', readOnly: managed, calculated: false, sensitive: false });
const contacts: ObjectType = { name: 'contacts', label: 'Contact', pluralLabel: 'Contacts', custom: false, properties: [property('email'), property('city'), property('lastmodifieddate', true)] };

/** A READY comparison of the previous backup ("from") with the new one, with only the figures the policy reads. */
function comparison(figures: { added?: number; removed?: number; changed?: number; unchanged?: number; perProperty?: Record<string, number> }): StoredComparison {
  return {
    id: 'cmp_1',
    objectType: 'contacts',
    added: figures.added ?? 0,
    removed: figures.removed ?? 0,
    changed: figures.changed ?? 0,
    unchanged: figures.unchanged ?? 0,
    perProperty: Object.entries(figures.perProperty ?? {}).map(([name, changed]) => ({ name, changed })),
  } as StoredComparison;
}

describe('anomaly thresholds', () => {
  it('needs both the share (strictly more) and the floor', () => {
    const threshold = { percent: 5, atLeast: 100 };
    expect(passes(100, 1_000, threshold)).toBe(true); // 10% and 100
    expect(passes(99, 1_000, threshold)).toBe(false); // under the floor
    expect(passes(100, 2_000, threshold)).toBe(false); // exactly 5%: not more
    expect(passes(101, 2_000, threshold)).toBe(true);
    expect(passes(3, 10, threshold)).toBe(false); // 30% of a small type: no alert
  });

  it('finds mass removals past the defaults, not ordinary churn', () => {
    const settings = settingsInForce(undefined);
    expect(settings).toEqual(DEFAULT_ALERT_SETTINGS);
    expect(findAnomalies(settings, comparison({ removed: 600, unchanged: 9_400 }), contacts)).toEqual([
      { kind: 'RECORDS_REMOVED', objectType: 'contacts', removed: 600, before: 10_000, comparisonId: 'cmp_1' },
    ]);
    expect(findAnomalies(settings, comparison({ removed: 400, added: 900, unchanged: 9_600 }), contacts)).toEqual([]);
  });

  it('finds one property changed on too many records, leaving out what the CRM sets by itself', () => {
    const found = findAnomalies(settingsInForce(undefined), comparison({ changed: 3_000, unchanged: 7_000, perProperty: { email: 100, city: 2_600, lastmodifieddate: 3_000 } }), contacts);
    expect(found).toEqual([{ kind: 'PROPERTY_CHANGED', objectType: 'contacts', property: 'city', changed: 2_600, compared: 10_000, comparisonId: 'cmp_1' }]);
    expect(describeFinding(found[0]!, 'Contacts')).toBe('Contacts: "city" changed on 2,600 of 10,000 records (26%).');
  });

  it('reports an emptied type alone, and not when the setting is off', () => {
    const emptied = comparison({ removed: 40 });
    expect(findAnomalies(settingsInForce(undefined), emptied, contacts)).toEqual([{ kind: 'TYPE_EMPTIED', objectType: 'contacts', before: 40, comparisonId: 'cmp_1' }]);
    const off = { ...DEFAULT_ALERT_SETTINGS, emptiedType: false };
    expect(findAnomalies(off, emptied, contacts)).toEqual([]);
    // A type empty on both sides is not "emptied".
    expect(findAnomalies(settingsInForce(undefined), comparison({}), contacts)).toEqual([]);
  });
});
