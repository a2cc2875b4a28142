// The options of the ledger's column families and the info log of a writable open: what Store
// opens its databases with. Internal to Store (ledger/store.cc).
#ifndef MULIN_LEDGER_STORE_FAMILIES_H_
#define MULIN_LEDGER_STORE_FAMILIES_H_

#include <rocksdb/env.h>
#include <rocksdb/options.h>

#include <memory>
#include <string>

namespace mulin::ledger::internal {

// `events`: an append-only memtable, 16 KiB LZ4 blocks.
rocksdb::ColumnFamilyOptions EventFamilyOptions();
// `requests` and `receipts`: hash memtables and whole-key bloom filters for exact-key reads.
rocksdb::ColumnFamilyOptions PointLookupFamilyOptions();
// `snapshots`: uncompressed.
rocksdb::ColumnFamilyOptions SnapshotFamilyOptions();
// <dir>/LOG, appended to, whose write failures are dropped; null when it cannot be opened.
std::shared_ptr<rocksdb::Logger> OpenInfoLog(const std::string& dir, rocksdb::InfoLogLevel level);

}  // namespace mulin::ledger::internal

#endif  // MULIN_LEDGER_STORE_FAMILIES_H_
