/**
 * Where the goal text comes from: the Lean server's `$/lean/plainGoal` answer or, without the Lean 4
 * extension, the enclosing `theorem`/`lemma`/`example` found by scanning the file text.
 *
 * Pure string logic (no `vscode` import) so it is unit-tested under plain Node.
 */

/** The `$/lean/plainGoal` answer as the Lean server sends it (`null` when there is no goal). */
export interface PlainGoal {
  rendered?: string;
  goals?: string[];
}

/** A top-level declaration located in a file by {@link findEnclosingDeclaration}. */
export interface Declaration {
  keyword: 'theorem' | 'lemma' | 'example';
  /** Declared name; `undefined` for `example`. */
  name: string | undefined;
  /** Offsets into the file text: the declaration spans [start, end). */
  start: number;
  end: number;
  /** Everything before the top-level `:=` (e.g. `theorem foo (n : Nat) : n + 0 = n`). */
  statement: string;
  /** Everything after the top-level `:=` (e.g. `by\n  simp`), empty when there is none. */
  proof: string;
  /** File text before the declaration (imports, opens, earlier lemmas) as context for the server. */
  header: string;
}

const FENCE_RE = /^```[a-z0-9]*\s*$/i;

/**
 * The goals of a `$/lean/plainGoal` answer. `goals` is preferred; `rendered` (markdown with a ```lean fence,
 * goals separated by blank lines) is the fallback for servers that only send it.
 */
export function parsePlainGoal(answer: unknown): string[] {
  if (answer === null || answer === undefined || typeof answer !== 'object') {
    return [];
  }
  const goal = answer as PlainGoal;
  if (Array.isArray(goal.goals)) {
    return goal.goals.filter((g): g is string => typeof g === 'string' && g.trim() !== '').map((g) => g.trimEnd());
  }
  if (typeof goal.rendered === 'string') {
    return parseRenderedGoals(goal.rendered);
  }
  return [];
}

/** Split a rendered goal view (markdown) into goals. `no goals` gives an empty list. */
export function parseRenderedGoals(rendered: string): string[] {
  const lines = rendered.replace(/\r\n/g, '\n').split('\n').filter((l) => !FENCE_RE.test(l.trim()));
  const text = lines.join('\n').trim();
  if (text === '' || /^no goals$/i.test(text) || /^goals accomplished/i.test(text)) {
    return [];
  }
  return text
    .split(/\n\s*\n/)
    .map((g) => g.trimEnd())
    .filter((g) => g.trim() !== '');
}

const DECL_RE = /^(?:@\[[^\]]*\]\s*)*(?:(?:private|protected|noncomputable|nonrec)\s+)*(theorem|lemma|example)\b/;

/**
 * The `theorem`/`lemma`/`example` whose text contains `offset`, found by scanning back to the keyword at
 * the start of a line; it ends at the next non-blank line that starts in column 0.
 */
export function findEnclosingDeclaration(text: string, offset: number): Declaration | undefined {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\n') {
      lineStarts.push(i + 1);
    }
  }
  const lineOf = (off: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= off) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  };
  const lineText = (i: number): string => {
    const s = lineStarts[i];
    const e = i + 1 < lineStarts.length ? lineStarts[i + 1] - 1 : text.length;
    return text.slice(s, e);
  };
  const cursorLine = lineOf(Math.max(0, Math.min(offset, text.length)));
  for (let i = cursorLine; i >= 0; i--) {
    const line = lineText(i);
    const m = DECL_RE.exec(line);
    if (m === null) {
      if (i < cursorLine && line.trim() !== '' && !/^\s/.test(line) && !line.startsWith('@[')) {
        return undefined; // another top-level command sits between the cursor and any declaration
      }
      continue;
    }
    const start = lineStarts[i];
    let endLine = i + 1;
    while (endLine < lineStarts.length) {
      const l = lineText(endLine);
      if (l.trim() !== '' && !/^\s/.test(l)) {
        break;
      }
      endLine++;
    }
    const end = endLine < lineStarts.length ? lineStarts[endLine] - 1 : text.length;
    if (offset > end) {
      return undefined;
    }
    const declText = text.slice(start, end).replace(/\s+$/, '');
    const assign = topLevelAssign(declText);
    const statement = (assign < 0 ? declText : declText.slice(0, assign)).trim();
    const proof = assign < 0 ? '' : declText.slice(assign + 2).trim();
    const keyword = m[1] as Declaration['keyword'];
    const afterKw = declText.slice(m[0].length).trimStart();
    const name = keyword === 'example' ? undefined : /^[^\s(:{[⦃]+/.exec(afterKw)?.[0];
    return { keyword, name, start, end: start + declText.length, statement, proof, header: text.slice(0, start).trim() };
  }
  return undefined;
}

const OPEN = '([{⦃⟨';
const CLOSE = ')]}⦄⟩';

/** Index of the first `:=` outside brackets, or -1. */
function topLevelAssign(s: string): number {
  let depth = 0;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s[i];
    if (OPEN.includes(c)) {
      depth++;
    } else if (CLOSE.includes(c)) {
      depth = Math.max(0, depth - 1);
    } else if (depth === 0 && c === ':' && s[i + 1] === '=') {
      return i;
    }
  }
  return -1;
}

/** Index of the first `:` (not `:=`) outside brackets, or -1. */
function topLevelColon(s: string): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (OPEN.includes(c)) {
      depth++;
    } else if (CLOSE.includes(c)) {
      depth = Math.max(0, depth - 1);
    } else if (depth === 0 && c === ':' && s[i + 1] !== '=') {
      return i;
    }
  }
  return -1;
}

const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();

/**
 * Turn a declaration statement into the goal Lean would show at the start of its proof:
 * binders become hypotheses, the type follows `⊢`. `[Inst α]` becomes `inst✝ : Inst α`.
 */
export function statementToGoal(statement: string): string {
  let rest = statement.replace(DECL_RE, '').trimStart();
  const m = DECL_RE.exec(statement.trimStart());
  if (m !== null && m[1] !== 'example') {
    rest = rest.replace(/^[^\s(:{[⦃]+/, '').trimStart();
  }
  const hyps: string[] = [];
  while (rest.length > 0 && '({[⦃'.includes(rest[0])) {
    const close = matching(rest, 0);
    if (close < 0) {
      break;
    }
    const inner = rest.slice(1, close);
    const colon = topLevelColon(inner);
    if (colon < 0) {
      hyps.push(`inst✝ : ${squash(inner)}`);
    } else {
      let type = inner.slice(colon + 1);
      const dflt = topLevelAssign(type);
      if (dflt >= 0) {
        type = type.slice(0, dflt);
      }
      hyps.push(`${squash(inner.slice(0, colon))} : ${squash(type)}`);
    }
    rest = rest.slice(close + 1).trimStart();
  }
  const colon = topLevelColon(rest);
  const target = squash(colon >= 0 ? rest.slice(colon + 1) : rest);
  return [...hyps, `⊢ ${target}`].join('\n');
}

function matching(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (OPEN.includes(s[i])) {
      depth++;
    } else if (CLOSE.includes(s[i])) {
      depth--;
      if (depth === 0) {
        return i;
      }
    }
  }
  return -1;
}

/** The `sorry` token on `line` that contains or touches `character`, as [start, end) columns. */
export function sorryAt(line: string, character: number): { start: number; end: number } | undefined {
  const re = /(?<![A-Za-z0-9_'.])sorry(?![A-Za-z0-9_'])/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    if (character >= m.index && character <= m.index + m[0].length) {
      return { start: m.index, end: m.index + m[0].length };
    }
  }
  return undefined;
}

/**
 * The proof so far: the tactic steps of the declaration's `by` block that come before the cursor's line, in
 * order, so the server can replay them and check suggestions against the goal the cursor is really at (not the
 * theorem's first goal). A step is a line at the block's indentation with its deeper-indented continuation
 * lines; blank lines, `--` comments and `sorry` steps are left out. `undefined` when the proof so far cannot be
 * read this way: a term-mode proof, or a cursor inside a nested block (a `·` bullet, a `case`) whose step is not
 * finished -- the caller then says the goal is not known.
 */
export function tacticsBefore(text: string, decl: Declaration, offset: number): string[] | undefined {
  const declText = text.slice(decl.start, decl.end);
  const assign = topLevelAssign(declText);
  if (assign < 0) {
    return [];
  }
  const afterAssign = declText.slice(assign + 2);
  const byMatch = /^\s*by\b/.exec(afterAssign);
  if (byMatch === null) {
    return undefined;
  }
  const bodyStart = decl.start + assign + 2 + byMatch[0].length;
  const cursor = Math.max(decl.start, Math.min(offset, decl.end));
  if (cursor <= bodyStart) {
    return [];
  }
  const cursorLineStart = text.lastIndexOf('\n', cursor - 1) + 1;
  if (cursorLineStart <= bodyStart) {
    return []; // the cursor is on the `by` line itself: nothing before it
  }
  const before = text.slice(bodyStart, cursorLineStart);
  const cursorLine = text.slice(cursorLineStart, text.indexOf('\n', cursorLineStart) < 0 ? text.length : text.indexOf('\n', cursorLineStart));
  const rawLines = before.split('\n');
  const steps: { indent: number; lines: string[] }[] = [];
  let blockIndent: number | undefined;
  const first = rawLines[0].replace(/--.*$/, '').trim();
  if (first !== '' && first !== 'sorry') {
    return undefined; // `by tac` with the block continuing below: a layout this reader does not follow
  }
  for (const raw of rawLines.slice(1)) {
    const code = raw.replace(/--.*$/, '');
    if (code.trim() === '') {
      continue;
    }
    const indent = code.length - code.trimStart().length;
    if (blockIndent === undefined) {
      blockIndent = indent;
    }
    if (indent < blockIndent) {
      return undefined;
    }
    const continues = /^(\||<;>)/.test(code.trim()); // a match alternative / `<;>` belongs to the step above
    if (indent === blockIndent && !(continues && steps.length > 0)) {
      steps.push({ indent, lines: [code.trim()] });
    } else if (steps.length > 0) {
      steps[steps.length - 1].lines.push(code.slice(blockIndent).trimEnd());
    }
  }
  const cursorCode = cursorLine.replace(/--.*$/, '');
  if (blockIndent !== undefined && cursorCode.trim() !== '') {
    const cursorIndent = cursorCode.length - cursorCode.trimStart().length;
    if (cursorIndent > blockIndent) {
      return undefined; // inside the last step (a nested block): its goal is not a state after whole steps
    }
  }
  return steps.map((s) => s.lines.join('\n')).filter((s) => !/^sorry$/.test(s.trim()));
}

/** A goal split for display: its hypotheses (`h : p` lines, continuation lines joined) and its `⊢` target. */
export function splitGoal(goal: string): { caseName: string | undefined; hyps: string[]; target: string } {
  const lines = goal.replace(/\r\n/g, '\n').split('\n');
  let caseName: string | undefined;
  if (lines.length > 0 && /^case\s/.test(lines[0])) {
    caseName = lines.shift()?.slice(5).trim();
  }
  const turnstile = lines.findIndex((l) => l.trimStart().startsWith('⊢'));
  const hypLines = turnstile < 0 ? lines : lines.slice(0, turnstile);
  const hyps: string[] = [];
  for (const l of hypLines) {
    if (/^\s/.test(l) && hyps.length > 0) {
      hyps[hyps.length - 1] += ` ${l.trim()}`;
    } else if (l.trim() !== '') {
      hyps.push(l.trim());
    }
  }
  const target = turnstile < 0 ? '' : lines.slice(turnstile).map((l) => l.trim()).join(' ');
  return { caseName, hyps, target };
}
