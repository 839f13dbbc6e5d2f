// Indexing that the type checker can trust (noUncheckedIndexedAccess): for indices the code knows are in
// range, a missing element is a bug, reported where it happens rather than as `undefined` further on.

/** The element at `i` (negative: from the end); throws a RangeError naming `what` when there is none. */
export function at<T>(items: ArrayLike<T>, i: number, what = 'index'): T {
  const value = items[i < 0 ? items.length + i : i];
  if (value === undefined) throw new RangeError(`${what} ${i} is out of range (length ${items.length})`);
  return value;
}
