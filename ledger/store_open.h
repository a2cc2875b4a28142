// Read-only opens of a database beside its live writer, for Store (ledger/store.cc).
//
// A read-only open beside a live writer reads the MANIFEST, then the write-ahead logs and tables
// it implies. A flush or compaction finishing in between deletes a log or a table that the open
// then misses: the open fails on a missing file or, worse, succeeds with a view in which a column
// family lacks what the deleted log held (a gap in the events, a head behind its records), which
// `mulin verify` would report as damage.
//
// So a read-only open first pins what it reads (PinFiles): a private directory beside the
// ledger's files gets the CURRENT file, the MANIFEST as far as it was written, the IDENTITY, and
// hard links to the write-ahead logs and tables, and the open reads those. The MANIFEST stops at
// one moment, and the links outlive the writer's deletions, so the view is one the writer had.
// A pin is good when the MANIFEST and the set of logs did not change while it was made, a few
// milliseconds, where an unpinned open has to find them unchanged over the whole open. Once open,
// a read-only database holds every table it needs open (max_open_files = -1) and has read the
// logs, and the pin is removed; errors name the ledger's own files (FromRocks). Where no pin can
// be made (a ledger on read-only media, or a reader that may not write in its directory), the open
// reads the ledger in place and is retried until the files stayed as they were throughout.
#ifndef MULIN_LEDGER_STORE_OPEN_H_
#define MULIN_LEDGER_STORE_OPEN_H_

#include <rocksdb/options.h>
#include <rocksdb/status.h>

#include <functional>
#include <string>

namespace mulin::ledger::internal {

// Sets `options` of a read-only open to open all tables with the database: the pin it reads them
// from is removed once it is open.
void PinnableReadOnly(rocksdb::DBOptions* options);

// Opens the database in `dir` through `open`, which is given the directory to open: once for a
// writable open; for a read-only one, from a pin where one can be made, retried as said above.
// When every attempt saw the files change, the open is refused as busy: a view that may be torn
// would be reported as damage.
rocksdb::Status OpenConsistently(const std::string& dir, bool read_only,
                                 const std::function<rocksdb::Status(const std::string&)>& open);

// `text` without the pins (PinFiles) in the paths it names: an error met while reading from a pin
// names the ledger's own file, of which the pin held a link.
std::string WithoutPins(std::string text);

}  // namespace mulin::ledger::internal

#endif  // MULIN_LEDGER_STORE_OPEN_H_
