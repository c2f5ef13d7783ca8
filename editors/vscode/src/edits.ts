/**
 * Where and how a suggested tactic or a found proof goes into the file: it replaces the `sorry` under the
 * cursor, otherwise it is inserted at the cursor, indented like the surrounding tactic block.
 *
 * Pure (no `vscode` import): the extension turns the result into a `WorkspaceEdit`.
 */
import { sorryAt } from './goals';

export interface Pos {
  line: number;
  character: number;
}

export interface TextEditSpec {
  start: Pos;
  end: Pos;
  newText: string;
}

const indentOf = (line: string): number => line.length - line.trimStart().length;
const endsWithBy = (s: string): boolean => /(^|[\s(])by$/.test(s.trimEnd());
const endsWithAssign = (s: string): boolean => s.trimEnd().endsWith(':=');

/** Remove common leading indentation and surrounding blank lines. */
export function dedent(text: string): string[] {
  const lines = text.replace(/\r\n/g, '\n').replace(/\t/g, '  ').split('\n');
  while (lines.length > 0 && lines[0].trim() === '') {
    lines.shift();
  }
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') {
    lines.pop();
  }
  const first = lines.length > 0 ? indentOf(lines[0]) : 0;
  const rest = lines.slice(1).filter((l) => l.trim() !== '');
  const common = Math.min(first, ...rest.map(indentOf));
  return lines.map((l, i) => (i === 0 ? l.slice(first) : l.slice(Math.min(common, indentOf(l)))).trimEnd());
}

/**
 * Tactic lines for a place that already is inside a tactic block: a leading `by` of a whole proof is dropped
 * and its body dedented.
 */
function tacticLines(text: string): string[] {
  const lines = dedent(text);
  if (lines.length > 0 && /^by(\s|$)/.test(lines[0])) {
    const firstRest = lines[0].slice(2).trim();
    const body = lines.slice(1);
    const lifted = dedent(body.join('\n'));
    return firstRest !== '' ? [firstRest, ...lifted] : lifted;
  }
  return lines;
}

/** Lines of a term-position proof (after `:=`): tactic scripts get a `by`. */
function termLines(text: string): string[] {
  const lines = dedent(text);
  if (lines.length > 0 && /^by(\s|$)/.test(lines[0])) {
    return lines;
  }
  return ['by', ...lines.map((l) => `  ${l}`)];
}

function layout(lines: string[], indent: number): string {
  const pad = ' '.repeat(indent);
  return lines.map((l, i) => (i === 0 || l === '' ? l : pad + l)).join('\n');
}

/**
 * The edit that puts `text` (a tactic, or a proof that may start with `by`) at `pos` in `lines`.
 * A `sorry` at the cursor is replaced; on a blank line the text goes at the cursor's indentation; on a
 * non-blank line it goes on a new line below, indented like that line (one step deeper after `by`).
 */
export function buildInsertion(lines: string[], pos: Pos, text: string): TextEditSpec {
  const line = lines[pos.line] ?? '';
  let sorry = sorryAt(line, pos.character);
  if (sorry === undefined) {
    // the cursor elsewhere on a line with a `sorry` (e.g. at column 0 of `  sorry`): that sorry is the hole
    const last = lastSorry(line);
    if (last !== undefined) {
      sorry = last;
      pos = { line: pos.line, character: last.end };
    }
  }
  if (sorry === undefined && line.trim() === '') {
    // a blank line right below `... := by sorry`: complete that sorry, do not leave it and add a line in column 0
    const prevNo = previousNonBlankIndex(lines, pos.line);
    const prev = prevNo === undefined ? undefined : lines[prevNo];
    const trailing = prev === undefined ? undefined : sorryAt(prev, prev.trimEnd().length);
    if (prevNo !== undefined && trailing !== undefined) {
      return buildInsertion(lines, { line: prevNo, character: trailing.end }, text);
    }
  }
  if (sorry !== undefined) {
    const before = line.slice(0, sorry.start);
    const lineIndent = indentOf(line);
    const prevLine = previousNonBlank(lines, pos.line);
    if (endsWithAssign(before) || (before.trim() === '' && prevLine !== undefined && endsWithAssign(prevLine))) {
      const body = termLines(text);
      if (body.length === 1) {
        return { start: { line: pos.line, character: sorry.start }, end: { line: pos.line, character: sorry.end }, newText: body[0] };
      }
      return {
        start: { line: pos.line, character: sorry.start },
        end: { line: pos.line, character: sorry.end },
        newText: layout(body, lineIndent),
      };
    }
    const body = tacticLines(text);
    if (body.length <= 1) {
      return {
        start: { line: pos.line, character: sorry.start },
        end: { line: pos.line, character: sorry.end },
        newText: body[0] ?? 'skip',
      };
    }
    if (before.trim() === '') {
      return {
        start: { line: pos.line, character: sorry.start },
        end: { line: pos.line, character: sorry.end },
        newText: layout(body, sorry.start),
      };
    }
    // `... by sorry` on one line: the multi-line script moves to the following lines.
    const indent = lineIndent + 2;
    const start = before.trimEnd().length;
    return {
      start: { line: pos.line, character: start },
      end: { line: pos.line, character: sorry.end },
      newText: '\n' + ' '.repeat(indent) + layout(body, indent),
    };
  }
  if (line.trim() === '') {
    let indent = Math.min(pos.character, line.length);
    if (indent === 0) {
      indent = contextIndent(lines, pos.line);
    }
    const prev = previousNonBlank(lines, pos.line);
    const body = prev !== undefined && endsWithAssign(prev) ? termLines(text) : tacticLines(text);
    return {
      start: { line: pos.line, character: 0 },
      end: { line: pos.line, character: line.length },
      newText: ' '.repeat(indent) + layout(body, indent),
    };
  }
  const afterBy = endsWithBy(line);
  const indent = afterBy || endsWithAssign(line) ? indentOf(line) + 2 : indentOf(line);
  const body = endsWithAssign(line) ? termLines(text) : tacticLines(text);
  return {
    start: { line: pos.line, character: line.length },
    end: { line: pos.line, character: line.length },
    newText: '\n' + ' '.repeat(indent) + layout(body, indent),
  };
}

function lastSorry(line: string): { start: number; end: number } | undefined {
  const re = /(?<![A-Za-z0-9_'.])sorry(?![A-Za-z0-9_'])/g;
  let found: { start: number; end: number } | undefined;
  const code = line.replace(/--.*$/, '');
  for (let m = re.exec(code); m !== null; m = re.exec(code)) {
    found = { start: m.index, end: m.index + m[0].length };
  }
  return found;
}

function previousNonBlankIndex(lines: string[], lineNo: number): number | undefined {
  for (let i = lineNo - 1; i >= 0; i--) {
    if (lines[i].trim() !== '') {
      return i;
    }
  }
  return undefined;
}

const IDENT_CHAR = /[A-Za-z0-9_'.!?\u00C0-\u1FFF\u2100-\u214F]/;

/**
 * The edit that puts a name (a premise) at `pos`, replacing `[start, end)` of the line when a selection is
 * given: a space is added on each side that touches a word, so the name never glues onto a neighbour
 * (`Real.sqrt_sqsorry`): `exact |sorry` gives `exact Real.sqrt_sq sorry`.
 */
export function nameInsertion(line: string, lineNo: number, start: number, end: number, name: string): TextEditSpec {
  const before = line.slice(0, start);
  const after = line.slice(end);
  const left = before !== '' && IDENT_CHAR.test(before[before.length - 1]) ? ' ' : '';
  const right = after !== '' && IDENT_CHAR.test(after[0]) ? ' ' : '';
  return { start: { line: lineNo, character: start }, end: { line: lineNo, character: end }, newText: `${left}${name}${right}` };
}

function previousNonBlank(lines: string[], lineNo: number): string | undefined {
  for (let i = lineNo - 1; i >= 0; i--) {
    if (lines[i].trim() !== '') {
      return lines[i];
    }
  }
  return undefined;
}

/** Indentation for a blank line in column 0: the previous line's, one step deeper after `by`/`:=`. */
function contextIndent(lines: string[], lineNo: number): number {
  const prev = previousNonBlank(lines, lineNo);
  if (prev === undefined) {
    return 0;
  }
  return endsWithBy(prev) || endsWithAssign(prev) ? indentOf(prev) + 2 : indentOf(prev);
}
