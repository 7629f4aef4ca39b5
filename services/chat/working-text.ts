/** A word of the user's message with its position in the original text. */
export interface Token {
  /** Lower case, apostrophes removed ("What's" → "whats"). */
  norm: string;
  start: number;
  end: number;
}

/**
 * The message being taken apart. Each extractor blanks what it consumed, so later extractors and the
 * free-text justification only see what is left, while positions still point into the user's original words.
 */
export class WorkingText {
  private masked: string;

  constructor(readonly original: string) {
    // Per code unit so positions stay aligned ("İ".toLowerCase() is two code units).
    this.masked = original
      .split('')
      .map((c) => (c.toLowerCase().length === 1 ? c.toLowerCase() : c))
      .join('');
  }

  /** The unconsumed text, lower case, with consumed parts blanked (same length as the original). */
  get view(): string {
    return this.masked;
  }

  consume(start: number, end: number): void {
    this.masked = this.masked.slice(0, start) + ' '.repeat(end - start) + this.masked.slice(end);
  }

  /** Finds the first match of `pattern` in the unconsumed text and consumes it. */
  take(pattern: RegExp): RegExpExecArray | null {
    const flags = pattern.flags.replace('g', '');
    const match = new RegExp(pattern.source, flags).exec(this.masked);
    if (match) this.consume(match.index, match.index + match[0].length);
    return match;
  }

  /** Unconsumed words, in order. */
  tokens(): Token[] {
    const result: Token[] = [];
    for (const m of this.masked.matchAll(/[a-z0-9]+(?:['’][a-z]+)*|\?/g)) {
      result.push({ norm: m[0].replace(/['’]/g, ''), start: m.index!, end: m.index! + m[0].length });
    }
    return result;
  }

  /** What is left of the user's own words, whitespace collapsed. */
  remainder(): string {
    let out = '';
    for (let i = 0; i < this.original.length; i++) out += this.masked[i] === ' ' ? ' ' : this.original[i];
    return out.replace(/\s+/g, ' ').trim();
  }
}
