/**
 * TextDoc's default clock reads the wall clock once per task (task-clock.ts): ops made in one run of
 * JavaScript share a reading; code that runs after an `await` reads the clock afresh.
 */
import { expect, it } from 'vitest'
import { taskClock } from '../../../src/shared/crdt/task-clock'

const spin = (ms: number): void => {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // the wall clock moves on; the task's reading must not
  }
}

it('gives one reading within a task, and a fresh one after an await', async () => {
  const first = taskClock()
  spin(20)
  expect(taskClock()).toBe(first)
  await null
  const later = taskClock()
  expect(later).toBeGreaterThanOrEqual(first + 20)
  spin(20)
  expect(taskClock()).toBe(later)
  await new Promise((resolve) => setTimeout(resolve, 0))
  expect(taskClock()).toBeGreaterThanOrEqual(later + 20)
})
