/**
 * Every machine file loads in Stately's tools as it stands (docs/inspect.md): it imports only
 * xstate and pure project modules (no `node:` anywhere in its import graph), it holds exactly one
 * literal `setup({...}).createMachine({...})` (no spreads, no computed keys in the config outside
 * function bodies), every action, guard, actor and delay the config names is implemented in
 * `setup`, and every placeholder actor (its comment says so) is provided by src/ via `provide()`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { findMachineFiles, loadMachineFiles } from '../../../src/inspect/machine-files.js';
import { machineGraph } from '../../../src/inspect/machine-graph.js';

const root = resolve(import.meta.dirname, '../../..');
const files = findMachineFiles(root);
const BUILTIN = new Set(builtinModules);

function parse(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** Module specifiers a file imports at run time (type-only imports are erased). */
function runtimeImports(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  for (const s of sf.statements) {
    if (ts.isImportDeclaration(s)) {
      const c = s.importClause;
      const typeOnly =
        c !== undefined &&
        (c.isTypeOnly ||
          (c.name === undefined &&
            c.namedBindings !== undefined &&
            ts.isNamedImports(c.namedBindings) &&
            c.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) out.push((s.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(s) && s.moduleSpecifier !== undefined && !s.isTypeOnly) {
      out.push((s.moduleSpecifier as ts.StringLiteral).text);
    }
  }
  ts.forEachChild(sf, function visit(n): void {
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const a = n.arguments[0];
      out.push(a !== undefined && ts.isStringLiteral(a) ? a.text : '<dynamic>');
    }
    ts.forEachChild(n, visit);
  });
  return out;
}

test('machine files import only xstate and pure project modules (whole import graph, no node:)', () => {
  assert.ok(files.length >= 3, `machine files found: ${files.join(', ')}`);
  const seen = new Set<string>();
  const problems: string[] = [];
  const walk = (path: string, via: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const spec of runtimeImports(parse(path))) {
      const where = `${relative(root, path)} (from ${via}) imports '${spec}'`;
      if (spec === 'xstate') continue;
      if (spec.startsWith('node:') || BUILTIN.has(spec)) problems.push(`${where}: a Node module`);
      else if (!spec.startsWith('.')) problems.push(`${where}: a package other than xstate`);
      else walk(resolve(dirname(path), spec.replace(/\.js$/, '.ts')), via);
    }
  };
  for (const f of files) walk(join(root, f), f);
  assert.deepEqual(problems, []);
  // The walk did reach the pure src/ modules the machines use.
  assert.ok([...seen].some((p) => p.includes(`${join('src', 'picker')}`)));
});

/** The `setup(...).createMachine(...)` calls in a file. */
function createMachineCalls(
  sf: ts.SourceFile,
): { setupArg: ts.Expression; config: ts.Expression; line: number }[] {
  const out: { setupArg: ts.Expression; config: ts.Expression; line: number }[] = [];
  ts.forEachChild(sf, function visit(n): void {
    if (
      ts.isCallExpression(n) &&
      ts.isPropertyAccessExpression(n.expression) &&
      n.expression.name.text === 'createMachine'
    ) {
      const inner = n.expression.expression;
      const line = sf.getLineAndCharacterOfPosition(n.getStart()).line + 1;
      if (
        ts.isCallExpression(inner) &&
        ts.isIdentifier(inner.expression) &&
        inner.expression.text === 'setup'
      )
        out.push({ setupArg: inner.arguments[0]!, config: n.arguments[0]!, line });
      else out.push({ setupArg: inner, config: n.arguments[0]!, line: -line });
    }
    ts.forEachChild(n, visit);
  });
  return out;
}

/** Spreads and computed keys in object literals of the config, not counting function bodies. */
function nonLiteral(sf: ts.SourceFile, config: ts.Node): string[] {
  const out: string[] = [];
  const at = (n: ts.Node) => `line ${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  const visit = (n: ts.Node): void => {
    if (ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isMethodDeclaration(n)) return;
    if (ts.isSpreadAssignment(n) || ts.isSpreadElement(n)) out.push(`spread at ${at(n)}`);
    if (ts.isPropertyAssignment(n) && ts.isComputedPropertyName(n.name)) out.push(`computed key at ${at(n)}`);
    if (ts.isShorthandPropertyAssignment(n)) out.push(`shorthand property (a variable) at ${at(n)}`);
    ts.forEachChild(n, visit);
  };
  visit(config);
  return out;
}

test('each machine file has exactly one literal setup({...}).createMachine({...})', () => {
  for (const f of files) {
    const sf = parse(join(root, f));
    const calls = createMachineCalls(sf);
    assert.equal(calls.length, 1, `${f}: ${calls.length} createMachine calls`);
    const [call] = calls;
    assert.ok(
      call !== undefined && call.line > 0,
      `${f}: createMachine must be called on setup({...}) directly`,
    );
    assert.ok(ts.isObjectLiteralExpression(call.setupArg), `${f}: setup() takes an object literal`);
    assert.ok(ts.isObjectLiteralExpression(call.config), `${f}: createMachine() takes an object literal`);
    assert.deepEqual(nonLiteral(sf, call.config), [], `${f}: the config must be literal`);
  }
});

test('the checks above catch a spread, a computed key and a config held in a variable', () => {
  const sf = ts.createSourceFile(
    'bad.ts',
    `const k='a'; const base={}; export const m = setup({}).createMachine({ ...base, states: { [k]: {} }, on: { x: { actions: () => ({ ...base }) } } });
     export const n = other.createMachine(cfg);`,
    ts.ScriptTarget.ES2022,
    true,
  );
  const calls = createMachineCalls(sf);
  assert.equal(calls.length, 2);
  assert.deepEqual(
    nonLiteral(sf, calls[0]!.config).map((s) => s.split(' at ')[0]),
    ['spread', 'computed key'],
    'a spread inside a function body is fine',
  );
  assert.ok(calls[1]!.line < 0, 'not on setup()');
});

/** Names each implementation table of setup must hold, read from the machine at run time. */
function namedIn(machine: Parameters<typeof machineGraph>[0]) {
  const g = machineGraph(machine);
  const builtIn = (n: string) => n === 'inline' || n === 'assign' || n.startsWith('xstate.');
  const actions = new Set<string>();
  const guards = new Set<string>();
  for (const t of g.transitions) {
    for (const a of t.actions) if (!builtIn(a)) actions.add(a);
    if (t.guard !== undefined && !builtIn(t.guard)) guards.add(t.guard);
  }
  for (const s of g.states) for (const a of [...s.entry, ...s.exit]) if (!builtIn(a)) actions.add(a);
  const actors = new Set(g.states.flatMap((s) => s.invoke));
  const delays = new Set(g.states.flatMap((s) => s.delays).filter((d) => !/^\d+$/.test(d)));
  return { actions, guards, actors, delays };
}

/** `spawn('peer', …)` / `spawnChild('peer', …)` in a file: actor names used inside actions. */
function spawned(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  ts.forEachChild(sf, function visit(n): void {
    if (
      ts.isCallExpression(n) &&
      ts.isIdentifier(n.expression) &&
      /^spawn(Child)?$/.test(n.expression.text)
    ) {
      const a = n.arguments[0];
      if (a !== undefined && ts.isStringLiteral(a)) out.push(a.text);
    }
    ts.forEachChild(n, visit);
  });
  return out;
}

test('every action, guard, actor and delay a config names is implemented in setup', async () => {
  for (const { file, machines } of await loadMachineFiles(root)) {
    assert.equal(machines.length, 1, `${file}: one machine`);
    const m = machines[0]!;
    const impl = m.implementations as Record<
      'actions' | 'guards' | 'actors' | 'delays',
      Record<string, unknown>
    >;
    const named = namedIn(m);
    for (const a of spawned(parse(join(root, file)))) named.actors.add(a);
    for (const kind of ['actions', 'guards', 'actors', 'delays'] as const) {
      const missing = [...named[kind]].filter((n) => !(n in impl[kind]));
      assert.deepEqual(missing, [], `${file}: ${kind} named but not in setup`);
    }
    assert.ok(named.actions.size + named.actors.size > 0, `${file}: found names to check`);
  }
});

function srcFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? srcFiles(p) : n.endsWith('.ts') ? [p] : [];
  });
}

/** `<machine>.provide({ actors: { name… } })` anywhere in src/: machine variable → provided actor names. */
function providedInSrc(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const path of srcFiles(join(root, 'src'))) {
    ts.forEachChild(parse(path), function visit(n): void {
      if (
        ts.isCallExpression(n) &&
        ts.isPropertyAccessExpression(n.expression) &&
        n.expression.name.text === 'provide' &&
        ts.isIdentifier(n.expression.expression)
      ) {
        const arg = n.arguments[0];
        const actors =
          arg !== undefined && ts.isObjectLiteralExpression(arg)
            ? arg.properties.find(
                (p) => p.name !== undefined && ts.isIdentifier(p.name) && p.name.text === 'actors',
              )
            : undefined;
        if (
          actors !== undefined &&
          ts.isPropertyAssignment(actors) &&
          ts.isObjectLiteralExpression(actors.initializer)
        ) {
          const set = out.get(n.expression.expression.text) ?? new Set<string>();
          for (const p of actors.initializer.properties)
            if (p.name !== undefined && ts.isIdentifier(p.name)) set.add(p.name.text);
          out.set(n.expression.expression.text, set);
        }
      }
      ts.forEachChild(n, visit);
    });
  }
  return out;
}

test('every placeholder actor in setup is provided by src/ through provide()', () => {
  const provided = providedInSrc();
  let placeholders = 0;
  for (const f of files) {
    const sf = parse(join(root, f));
    ts.forEachChild(sf, function visit(n): void {
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer !== undefined) {
        const machineVar = n.name.text;
        for (const call of createMachineCalls(sf)) {
          if (call.config.pos < n.initializer.pos || call.config.end > n.initializer.end) continue;
          if (!ts.isObjectLiteralExpression(call.setupArg)) continue;
          const actors = call.setupArg.properties.find((p) => p.name?.getText(sf) === 'actors');
          if (
            actors === undefined ||
            !ts.isPropertyAssignment(actors) ||
            !ts.isObjectLiteralExpression(actors.initializer)
          )
            continue;
          for (const p of actors.initializer.properties) {
            const comment = ts
              .getLeadingCommentRanges(sf.text, p.pos)
              ?.map((r) => sf.text.slice(r.pos, r.end))
              .join('');
            if (comment === undefined || !/placeholder/i.test(comment)) continue;
            placeholders++;
            const name = p.name?.getText(sf) ?? '?';
            assert.ok(
              provided.get(machineVar)?.has(name),
              `${f}: placeholder actor '${name}' is not provided by src/ (${machineVar}.provide({ actors: { ${name} } }))`,
            );
          }
        }
      }
      ts.forEachChild(n, visit);
    });
  }
  assert.ok(placeholders >= 3, `placeholders found: ${placeholders}`);
});
