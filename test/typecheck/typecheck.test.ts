// Compile tests for typed gRPC: the TypeScript compiler, with the project's own settings, on
// fixtures/accepted.ts (must compile) and fixtures/refused.ts (every line after a
// `// @ts-expect-error` must fail). tsc already fails on a marker whose line compiles; this test
// also takes the markers out and checks that the errors are on exactly the marked lines, so a
// fixture cannot pass by failing somewhere else. And the committed generated types are what
// `npm run gen:types` generates today.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import ts from 'typescript';

const root = new URL('../../', import.meta.url).pathname;
const fixtures = new URL('./fixtures/', import.meta.url).pathname;
const ACCEPTED = join(fixtures, 'accepted.ts');
const REFUSED = join(fixtures, 'refused.ts');
const MARKER = /^\s*\/\/ @ts-expect-error\b/;

function compilerOptions(): ts.CompilerOptions {
  const file = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  return ts.parseJsonConfigFileContent(file.config, ts.sys, root).options;
}

/** Diagnostics of a program over `files`, with `override` replacing files' text (by path). */
function diagnose(files: string[], override: Map<string, string> = new Map()): ts.Diagnostic[] {
  const options = compilerOptions();
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, onError, fresh) =>
    override.has(name) ? ts.createSourceFile(name, override.get(name)!, language) : getSourceFile(name, language, onError, fresh);
  const program = ts.createProgram(files, options, host);
  return ts.getPreEmitDiagnostics(program).filter((d) => d.file && files.includes(d.file.fileName));
}

const where = (d: ts.Diagnostic) => `${relative(root, d.file!.fileName)}:${d.file!.getLineAndCharacterOfPosition(d.start!).line + 1}`;
const describeAll = (ds: ts.Diagnostic[]) => ds.map((d) => `${where(d)} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`).join('\n');

describe('typed gRPC: compile tests', () => {
  it('accepted.ts compiles and every @ts-expect-error in refused.ts is an error', () => {
    const ds = diagnose([ACCEPTED, REFUSED]);
    assert.equal(ds.length, 0, describeAll(ds));
  });

  it('without the markers, refused.ts fails on exactly the marked lines', (t) => {
    const lines = readFileSync(REFUSED, 'utf8').split('\n');
    const marked = lines.flatMap((l, i) => (MARKER.test(l) ? [{ line: i + 2, what: l.replace(MARKER, '').trim() }] : []));
    assert.ok(marked.length >= 20, `refused.ts has ${marked.length} markers`);
    // Same line numbers: each marker becomes an ordinary comment.
    const unmarked = lines.map((l) => l.replace('// @ts-expect-error', '// expect error:')).join('\n');
    const ds = diagnose([REFUSED], new Map([[REFUSED, unmarked]]));
    const failing = new Set(ds.map((d) => d.file!.getLineAndCharacterOfPosition(d.start!).line + 1));
    for (const m of marked) {
      const own = ds.filter((d) => d.file!.getLineAndCharacterOfPosition(d.start!).line + 1 === m.line);
      t.diagnostic(`line ${m.line} (${m.what}): ${own.map((d) => `TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ').slice(0, 140)}`).join(' | ')}`);
    }
    assert.deepEqual([...failing].sort((a, b) => a - b), marked.map((m) => m.line), describeAll(ds));
  });

  describe('generated types', () => {
    const out = mkdtempSync(join(tmpdir(), 'coord-gen-types-'));
    after(() => rmSync(out, { recursive: true, force: true }));

    it('the committed ones are what `npm run gen:types` generates', () => {
      const script = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['gen:types'];
      const targets = [...script.matchAll(/-O (\S+)/g)].map((m) => m[1]);
      assert.deepEqual(targets, ['examples/shop/generated', 'test/typecheck/generated']);
      // The script's own commands, writing under `out` instead.
      const redirected = script.replace(/-O (\S+)/g, (_, dir: string) => `-O ${join(out, dir)}`);
      execFileSync('sh', ['-c', redirected], { cwd: root, env: { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}` }, stdio: 'pipe' });
      for (const dir of targets) {
        const committed = listFiles(join(root, dir));
        assert.deepEqual(listFiles(join(out, dir)), committed, `${dir}: the same files`);
        for (const f of committed) assert.equal(readFileSync(join(out, dir, f), 'utf8'), readFileSync(join(root, dir, f), 'utf8'), `${dir}/${f} is current (run npm run gen:types)`);
      }
    });
  });
});

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir)
    .flatMap((name) => (statSync(join(dir, name)).isDirectory() ? listFiles(join(dir, name), base) : [relative(base, join(dir, name))]))
    .sort();
}
