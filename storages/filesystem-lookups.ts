import { readFileSync } from 'node:fs';

/**
 * How `FileSystemStorage` looks names up (open, fstat, readlink of the descriptor, close):
 *
 * - `'blocking'`: on the event loop, as nginx does. On a local filesystem these calls read
 *   inodes and directory entries the kernel keeps cached and return in microseconds, while a
 *   thread-pool round trip costs the event loop several times more than the call it carries.
 * - `'thread-pool'`: through libuv's thread pool, so a lookup that waits (a network filesystem
 *   that stalls, an automounter) never stops other requests.
 * - `'auto'` (default): `'blocking'` unless a network, FUSE or automounted filesystem is mounted
 *   anywhere the process can see, since a link inside the root could lead a lookup there.
 *
 * Reads of file bytes always go through the thread pool: a page not in memory waits on a disk.
 */
export type FileSystemLookups = 'auto' | 'blocking' | 'thread-pool';

export const FILESYSTEM_LOOKUPS: readonly FileSystemLookups[] = ['auto', 'blocking', 'thread-pool'];

/**
 * Filesystem types whose lookups can wait on something other than a local disk: a server, a
 * user-space daemon, or a mount triggered on first access. `fuse.*` covers every FUSE driver
 * (sshfs, s3fs, rclone, …). Matched against the type field of /proc/self/mountinfo.
 */
const REMOTE_FILESYSTEM_TYPES = new Set([
  '9p',
  'afs',
  'autofs',
  'beegfs',
  'ceph',
  'cifs',
  'coda',
  'davfs',
  'fuse',
  'fuseblk',
  'gfs2',
  'glusterfs',
  'gpfs',
  'lustre',
  'ncpfs',
  'nfs',
  'nfs4',
  'ocfs2',
  'orangefs',
  'smb3',
  'smbfs',
  'virtiofs',
]);

function isRemote(type: string): boolean {
  return REMOTE_FILESYSTEM_TYPES.has(type) || type.startsWith('fuse.');
}

/**
 * The filesystem types mounted in this process's mount namespace, from /proc/self/mountinfo
 * (Linux), or `undefined` where that cannot be read. In each line the type follows the lone
 * "-" that ends the optional fields (proc(5)).
 */
export function mountedFilesystemTypes(mountinfo = '/proc/self/mountinfo'): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(mountinfo, 'utf8');
  } catch {
    return undefined;
  }
  const types: string[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    const type = separator === -1 ? undefined : fields[separator + 1];
    if (type) types.push(type);
  }
  return types;
}

/**
 * The lookups a storage makes for `option`. `'auto'` reads the mount table once, when the
 * storage is made: blocking only where every mounted filesystem is known to be local, and never
 * where the mount table cannot be read (not Linux).
 */
export function resolveLookups(
  option: FileSystemLookups,
  types: () => string[] | undefined = mountedFilesystemTypes,
): 'blocking' | 'thread-pool' {
  if (option !== 'auto') return option;
  const mounted = types();
  return mounted !== undefined && !mounted.some(isRemote) ? 'blocking' : 'thread-pool';
}
