// One copy of each string the replica holds. 30,000 ports repeat the same external_ids keys,
// network ids and chassis names, and a port's name comes again as its endpoint-id value: as
// JSON.parse makes them, each is its own string (V8 shares only values of up to 10 characters).
//
// A JS Map as intern table would keep every string ever seen, deleted ports' too. V8's own
// string table does not: it is weak. A property name is always looked up in (or added to) that
// table, so adding a key to an empty dictionary object and reading it back yields the table's
// copy; the duplicate becomes garbage. Values are unchanged, so this is only a memory matter.

export class StringInterner {
  // Null prototype: V8 keeps such an object in dictionary mode, so no hidden class per key.
  private readonly box: Record<string, 0> = Object.create(null);

  intern(s: string): string {
    // JSON.parse already interns values of up to 10 characters.
    if (s.length <= 10) return s;
    this.box[s] = 0;
    const shared = Object.keys(this.box)[0] ?? s;
    delete this.box[s];
    return shared;
  }
}
