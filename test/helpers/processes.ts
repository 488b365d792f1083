/** Processes under a test: children found through /proc (Linux). */
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of the processes whose parent is `pid`. */
export function childrenOf(pid: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid ? [Number(d)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

/** Children, grandchildren and so on of `pid`. */
export function descendantsOf(pid: number): number[] {
  const kids = childrenOf(pid);
  return kids.concat(...kids.map(descendantsOf));
}

export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  } catch {
    return '';
  }
}

/** The QEMU processes among the grandchildren of `pid` (a CLI runs QEMU under a guard shell). */
export function qemusUnder(pid: number): number[] {
  return childrenOf(pid).flatMap(childrenOf).filter((p) => commandOf(p).includes('qemu-system-riscv32'));
}
