/**
 * The wall clock as an op's history time takes it (TextDoc's default clock): read once per task, not
 * once per op. Ops made in one run of JavaScript are made at one moment as far as anyone can tell, and
 * a clock read costs ~75 ns on a VM whose clock source is not the vDSO's (this one): 7% of replaying a
 * 260,000-edit trace, read per edit. A reading is forgotten in a microtask queued when it is taken, so
 * the next task, or the code that resumes after an `await`, reads the clock afresh.
 */
let reading = -1

export function taskClock(): number {
  if (reading < 0) {
    reading = Date.now()
    queueMicrotask(forget)
  }
  return reading
}

function forget(): void {
  reading = -1
}
