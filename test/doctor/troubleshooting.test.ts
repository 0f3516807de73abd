// docs/troubleshooting.md is built from the doctor's diagnoses: this fails when they differ.
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { DIAGNOSES } from '../../src/doctor/diagnoses.ts';
import { DOC, END, renderDiagnoses, START, withDiagnoses } from './support/troubleshooting-doc.ts';

describe('docs/troubleshooting.md', function () {
  it('lists every diagnosis exactly as the doctor prints it (npm run docs:troubleshooting)', async function () {
    const page = await readFile(DOC, 'utf8');
    expect(page.split(START).length, 'one start marker').to.equal(2);
    expect(page.split(END).length, 'one end marker').to.equal(2);
    expect(withDiagnoses(page, renderDiagnoses())).to.equal(page);
  });

  it('has one heading per diagnosis, and the diagnosis ids are unique', function () {
    const ids = DIAGNOSES.map((entry) => entry.id);
    expect(new Set(ids).size).to.equal(ids.length);
    for (const id of ids) expect(renderDiagnoses()).to.include(`### \`${id}\`\n`);
  });
});
