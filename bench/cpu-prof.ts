/**
 * MESHPAD_BENCH_CPU_PROF=DIR: the node flags that have a bench's child process write a CPU profile of
 * its whole life into DIR, named after it (for finding where a child spends its time; the profiler slows
 * it a little). Empty when the variable is unset.
 */
export function cpuProfArgs(name: string): string[] {
  const dir = process.env['MESHPAD_BENCH_CPU_PROF']
  return dir
    ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`]
    : []
}
