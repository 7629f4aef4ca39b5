/** Every TextRun's text in a card, in document order: what an approver reads in the card's rich text. */
export function textRuns(card: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.type === 'TextRun') out.push(String(o.text));
      Object.values(o).forEach(walk);
    }
  };
  walk(card);
  return out;
}
