import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mountedFilesystemTypes, resolveLookups } from '../../storages/filesystem-lookups.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { tempTree } from '../support/fixtures.ts';

describe('FileSystemStorage lookups: blocking only where no mount can make a lookup wait', () => {
  const local = ['ext4', 'proc', 'sysfs', 'tmpfs', 'overlay', 'cgroup2', 'devpts', 'xfs'];

  it("'auto' blocks when every mounted filesystem is local", () => {
    expect(resolveLookups('auto', () => local)).to.equal('blocking');
  });

  const remote = [
    'nfs',
    'nfs4',
    'cifs',
    'smb3',
    '9p',
    'ceph',
    'autofs',
    'fuse',
    'fuseblk',
    'fuse.sshfs',
    'virtiofs',
  ];
  for (const type of remote) {
    it(`'auto' uses the thread pool when a ${type} filesystem is mounted anywhere`, () => {
      expect(resolveLookups('auto', () => [...local, type])).to.equal('thread-pool');
    });
  }

  it("'auto' uses the thread pool where the mount table cannot be read (not Linux)", () => {
    expect(resolveLookups('auto', () => undefined)).to.equal('thread-pool');
  });

  it('an explicit choice is kept whatever is mounted', () => {
    expect(resolveLookups('blocking', () => ['nfs'])).to.equal('blocking');
    expect(resolveLookups('thread-pool', () => local)).to.equal('thread-pool');
  });

  it('reads the filesystem types of /proc/self/mountinfo, after the optional fields', async () => {
    const tree = await tempTree({});
    try {
      const file = join(tree.dir, 'mountinfo');
      await writeFile(
        file,
        [
          '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
          '30 22 0:26 / /mnt/share rw,relatime shared:7 master:2 - nfs4 srv:/export rw,vers=4.2',
          '31 22 0:27 / /mnt/with\\040space rw - fuse.sshfs host: rw',
          '',
        ].join('\n'),
      );
      expect(mountedFilesystemTypes(file)).to.deep.equal(['ext4', 'nfs4', 'fuse.sshfs']);
      expect(mountedFilesystemTypes(join(tree.dir, 'missing'))).to.equal(undefined);
    } finally {
      await tree.cleanup();
    }
  });

  it('a storage says which way it looks names up', () => {
    const expected = resolveLookups('auto');
    expect(new FileSystemStorage({ location: '/tmp' }).lookups).to.equal(expected);
    expect(new FileSystemStorage({ location: '/tmp', lookups: 'thread-pool' }).lookups).to.equal(
      'thread-pool',
    );
  });
});
