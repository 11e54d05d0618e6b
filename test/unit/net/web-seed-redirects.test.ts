/**
 * The remembered redirects of web seeds (src/net/web-seed-redirects.ts) on their own: a file
 * answered where it was asked is not remembered, one answered elsewhere is until forgotten, and
 * the memory holds MAX_REMEMBERED_REDIRECTS at most, the oldest forgotten first.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_REMEMBERED_REDIRECT_CHARS,
  MAX_REMEMBERED_REDIRECTS,
  WebSeedRedirects,
} from '../../../src/net/web-seed-redirects.js';

test('remembered when answered elsewhere, until forgotten', () => {
  const r = new WebSeedRedirects();
  r.answered('http://a/f', 'http://a/f');
  assert.equal(r.size, 0);
  r.answered('http://a/f', 'http://node7.a/f');
  assert.equal(r.target('http://a/f'), 'http://node7.a/f');
  assert.equal(r.target('http://b/f'), 'http://b/f', "another seed's file is its own");
  r.forget('http://a/f');
  assert.equal(r.target('http://a/f'), 'http://a/f');
});

test('bounded: past MAX_REMEMBERED_REDIRECTS the oldest is forgotten, a renewed one kept', () => {
  const r = new WebSeedRedirects();
  for (let i = 0; i < MAX_REMEMBERED_REDIRECTS; i++) r.answered(`http://a/${i}`, `http://b/${i}`);
  r.answered('http://a/0', 'http://b/0'); // renewed: now the newest
  r.answered('http://a/new', 'http://b/new');
  assert.equal(r.size, MAX_REMEMBERED_REDIRECTS);
  assert.equal(r.target('http://a/0'), 'http://b/0');
  assert.equal(r.target('http://a/1'), 'http://a/1', 'the oldest went');
  assert.equal(r.target('http://a/new'), 'http://b/new');
});

test('bounded in characters too: long targets (a Location is up to 16 KiB) forget the oldest past MAX_REMEMBERED_REDIRECT_CHARS', () => {
  const r = new WebSeedRedirects();
  const long = (i: number) => `http://b/${i}/${'x'.repeat(15_000)}`;
  for (let i = 0; i < MAX_REMEMBERED_REDIRECTS; i++) r.answered(`http://a/${i}`, long(i));
  assert.ok(r.chars <= MAX_REMEMBERED_REDIRECT_CHARS, `${r.chars} characters remembered`);
  const last = MAX_REMEMBERED_REDIRECTS - 1;
  assert.equal(r.target(`http://a/${last}`), long(last), 'the newest kept');
  assert.equal(r.target('http://a/0'), 'http://a/0', 'the oldest went');
  r.forget(`http://a/${last}`);
  r.answered('http://a/short', 'http://b/short');
  assert.ok(r.chars <= MAX_REMEMBERED_REDIRECT_CHARS);
});
