import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { join } from 'node:path';
import { TarStorage } from '../../demo/custom-storage/tar-storage.ts';
import { describeStorageContract } from '../../src/testing/storage-contract.ts';
import { tempTree } from '../support/fixtures.ts';

/** Packs `fixtures` with the system's tar (GNU format), as a user's archive would be made. */
async function archiveOf(fixtures: Record<string, Uint8Array>) {
  const tree = await tempTree(fixtures);
  const archive = join(tree.dir, '..', `${tree.dir.split('/').pop()}.tar`);
  execFileSync('tar', ['-cf', archive, '-C', tree.dir, ...Object.keys(fixtures)]);
  return {
    archive,
    cleanup: async () => {
      await tree.cleanup();
      execFileSync('rm', ['-f', archive]);
    },
  };
}

describeStorageContract('TarStorage (the custom driver example)', async (fixtures) => {
  const { archive, cleanup } = await archiveOf(fixtures);
  return { storage: new TarStorage({ archive }), cleanup };
});

describe('TarStorage', () => {
  it('reads long Unicode names that need GNU long-name or PAX records', async () => {
    const name = `${'deep/'.repeat(30)}naïve 文件.txt`;
    const { archive, cleanup } = await archiveOf({ [name]: Buffer.from('long') });
    try {
      expect((await new TarStorage({ archive }).stat(name)).size).to.equal(4);
    } finally {
      await cleanup();
    }
  });

  it('refuses a missing archive option', () => {
    expect(() => new TarStorage({} as never)).to.throw(TypeError, /archive/);
  });
});
