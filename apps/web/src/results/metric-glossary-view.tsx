import { GLOSSARY, glossaryEntryId, labelWithUnit, plausibleRange } from './metric-glossary.ts';

/** Every metric's unit, meaning, what good looks like and plausible range (the summary numbers point here). */
export function MetricGlossary() {
  return (
    <details className="glossary">
      <summary>What these numbers mean</summary>
      <dl>
        {GLOSSARY.map((entry) => (
          <div key={entry.name} className="glossary-entry" data-metric={entry.name}>
            <dt>{labelWithUnit(entry.name)}</dt>
            <dd id={glossaryEntryId(entry.name)}>
              <p>{entry.meaning}</p>
              <p>
                <strong>Good:</strong> {entry.good}
              </p>
              <p>Plausible range: {plausibleRange(entry.name)}; values outside it are pose errors and are left out.</p>
            </dd>
          </div>
        ))}
      </dl>
    </details>
  );
}
