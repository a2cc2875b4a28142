#include "projections/engine.h"

#include <algorithm>
#include <cassert>
#include <memory>
#include <optional>

#include "ledger/event_codec.h"
#include "ledger/huge_pages.h"
#include "projections/batch_committer.h"
#include "projections/event_reader.h"

namespace mulin::projections {
namespace {

constexpr char kCheckpointTag = '\x00';
constexpr char kRowTag = '\x01';
constexpr size_t kCheckpointBytes = 8 + ledger::kChainHashBytes;

std::string SeqText(uint64_t seq) { return std::to_string(seq); }

}  // namespace

std::string CheckpointKey(std::string_view name) {
  std::string key(name);
  key.push_back(kCheckpointTag);
  return key;
}

std::string RowPrefix(std::string_view name) {
  std::string key(name);
  key.push_back(kRowTag);
  return key;
}

std::string EncodeCheckpoint(const Checkpoint& checkpoint) {
  std::string out;
  ledger::PutFixed64(&out, checkpoint.seq);
  out.append(reinterpret_cast<const char*>(checkpoint.chain.data()), checkpoint.chain.size());
  return out;
}

bool DecodeCheckpoint(std::string_view value, Checkpoint* checkpoint) {
  if (value.size() != kCheckpointBytes) return false;
  checkpoint->seq = ledger::GetFixed64(value.data());
  std::copy(value.begin() + 8, value.end(), checkpoint->chain.begin());
  return true;
}

Result<ledger::ChainHash> ChainAt(const ledger::EventLog& log, uint64_t seq) {
  if (seq == 0) return ledger::kGenesisChain;
  if (seq > log.head().seq) {
    return Status::NotFound("seq " + SeqText(seq) + " is past the head " + SeqText(log.head().seq));
  }
  std::unique_ptr<ledger::LogCursor> cursor = log.NewCursor(seq, seq);
  if (!cursor->Valid()) return cursor->status();
  return cursor->chain();
}

Engine::Engine(RowStore* store, std::vector<Projection*> projections)
    : store_(store), projections_(std::move(projections)) {}

Result<Checkpoint> Engine::ReadCheckpoint(std::string_view name) const {
  std::string value;
  Result<bool> found = store_->Get(CheckpointKey(name), &value);
  if (!found.ok()) return found.status();
  Checkpoint checkpoint;
  if (*found && !DecodeCheckpoint(value, &checkpoint)) {
    return Status::Corruption("projection " + std::string(name) + ": checkpoint of " +
                              std::to_string(value.size()) + " bytes does not decode");
  }
  return checkpoint;
}

Status Engine::CheckStart(const ledger::EventLog& log, const CatchUpOptions& options,
                          uint64_t target, const std::vector<Checkpoint>& checkpoints) const {
  const uint64_t head = log.head().seq;
  for (size_t i = 0; i < projections_.size(); ++i) {
    const std::string name(projections_[i]->name());
    const Checkpoint& checkpoint = checkpoints[i];
    if (!options.check_chain) continue;
    if (checkpoint.seq > head) {
      return Status::Corruption("projection " + name + " is at seq " + SeqText(checkpoint.seq) +
                                    ", past the log's head " + SeqText(head),
                                checkpoint.seq);
    }
    if (checkpoint.seq > target) {
      return Status::InvalidArgument("projection " + name + " is at seq " +
                                     SeqText(checkpoint.seq) + ", past the requested seq " +
                                     SeqText(target) + "; build as-of views in empty scratch");
    }
    Result<ledger::ChainHash> chain = ChainAt(log, checkpoint.seq);
    if (!chain.ok()) return chain.status();
    if (*chain != checkpoint.chain) {
      return Status::Corruption("projection " + name + ": its checkpoint at seq " +
                                    SeqText(checkpoint.seq) +
                                    " names a record the log does not hold (the log was "
                                    "rewritten or the checkpoint moved); rebuild it",
                                checkpoint.seq);
    }
  }
  return Status::Ok();
}

Status Engine::CommitBatch(PendingRows* pending, const std::vector<Checkpoint>& checkpoints,
                           const std::vector<bool>& advanced, size_t row_cache_bytes_max,
                           internal::BatchCommitter* committer) {
  RowBatch batch;
  if (!pending->in_place()) batch.puts.reserve(pending->dirty.size() + projections_.size());
  for (PendingRows::Cache::value_type* row : pending->dirty) {
    row->second.dirty = false;
    if (pending->in_place()) {
      // The fold already changed the store's rows; only a row it left empty is to be removed.
      if (row->second.value.empty()) pending->cache->Erase(row);
      continue;
    }
    // Rows that hold runs of records grew in the batch: count what they hold now.
    pending->cache_bytes = pending->cache_bytes - row->second.counted + row->second.value.size();
    row->second.counted = row->second.value.size();
    // A row Mutable found absent and the fold left empty does not exist: no row value is "".
    if (!row->second.value.empty()) batch.puts.emplace_back(row->first, row->second.value);
  }
  pending->dirty.clear();
  uint64_t through = 0;  // the batch's last event
  for (size_t i = 0; i < projections_.size(); ++i) {
    if (!advanced[i]) continue;
    batch.puts.emplace_back(CheckpointKey(projections_[i]->name()),
                            EncodeCheckpoint(checkpoints[i]));
    through = std::max(through, checkpoints[i].seq);
  }
  pending->batch_bytes = 0;
  if (committer != nullptr) {
    MULIN_RETURN_IF_ERROR(committer->Hand(std::move(batch)));
  } else {
    MULIN_RETURN_IF_ERROR(store_->Commit(std::move(batch)));
  }
  if (!pending->in_place() && pending->cache_bytes > row_cache_bytes_max) {
    // Everything cached is now in the store (once the batch in flight lands); later batches read
    // it back from there.
    if (committer != nullptr) MULIN_RETURN_IF_ERROR(committer->Wait());
    pending->cache->clear();
    pending->cache_bytes = 0;
    pending->emptied_at = through;
  }
  return Status::Ok();
}

Result<CatchUpStats> Engine::CatchUp(const ledger::EventLog& log, const CatchUpOptions& options) {
  assert(options.batch_events_max > 0);
  const uint64_t head = log.head().seq;
  const uint64_t target = options.to_seq == 0 ? head : options.to_seq;
  if (target > head) {
    return Status::InvalidArgument("seq " + SeqText(target) + " is past the head " + SeqText(head));
  }
  std::vector<Checkpoint> checkpoints;
  uint64_t from = target + 1;
  for (Projection* projection : projections_) {
    Result<Checkpoint> checkpoint = ReadCheckpoint(projection->name());
    if (!checkpoint.ok()) return checkpoint.status();
    checkpoints.push_back(*checkpoint);
    from = std::min(from, checkpoint->seq + 1);
  }
  MULIN_RETURN_IF_ERROR(CheckStart(log, options, target, checkpoints));
  if (from > target) return CatchUpStats();
  // Kept rows are taken, so that a failure below forgets them: they may hold part of a batch.
  std::unique_ptr<PendingRows> pending = std::move(kept_rows_);
  if (pending == nullptr) pending = std::make_unique<PendingRows>(store_->RowsToFoldInto());
  Result<CatchUpStats> stats = Fold(log, options, from, target, &checkpoints, pending.get());
  if (!stats.ok()) {
    if (pending->in_place()) store_->FailFold(stats.status());
    return stats;
  }
  if (keep_rows_ && !pending->in_place()) kept_rows_ = std::move(pending);
  return stats;
}

Result<CatchUpStats> Engine::Fold(const ledger::EventLog& log, const CatchUpOptions& options,
                                  uint64_t from, uint64_t target,
                                  std::vector<Checkpoint>* checkpoints, PendingRows* pending) {
  CatchUpStats stats;
  std::vector<Rows> rows;
  for (size_t i = 0; i < projections_.size(); ++i) {
    rows.emplace_back(RowPrefix(projections_[i]->name()), store_, pending,
                      /*started_at=*/(*checkpoints)[i].seq);
  }
  std::vector<bool> advanced(projections_.size(), false);
  size_t in_batch = 0;
  // A catch-up of a few events (the server's, after each write) is folded as it comes.
  const bool past_one_batch = target - from >= options.batch_events_max;
  // Past one batch, the row writes of each batch overlap the fold of the next.
  std::unique_ptr<internal::BatchCommitter> committer;
  if (!pending->in_place() && store_->CommitsBesideReads() && past_one_batch) {
    committer = std::make_unique<internal::BatchCommitter>(store_);
  }
  // A fold into memory writes every row it makes on fresh memory: on huge pages, it takes few
  // page faults (ledger/huge_pages.h).
  std::optional<ledger::HugePageScope> huge_pages;
  if (pending->in_place() && past_one_batch) huge_pages.emplace();
  internal::EventReader reader(log, from, target);
  for (auto chunk = reader.Next(); !chunk.empty(); chunk = reader.Next()) {
    for (const internal::DecodedRecord& record : chunk) {
      const uint64_t seq = record.seq;
      const EventContext context{seq, record.event.event(), &record.postings};
      for (size_t i = 0; i < projections_.size(); ++i) {
        if ((*checkpoints)[i].seq >= seq) continue;
        MULIN_RETURN_IF_ERROR(projections_[i]->Apply(context, &rows[i]));
        (*checkpoints)[i] = Checkpoint{seq, record.chain};
        advanced[i] = true;
      }
      ++stats.events;
      if (++in_batch >= options.batch_events_max ||
          pending->batch_bytes >= options.batch_bytes_max) {
        MULIN_RETURN_IF_ERROR(CommitBatch(pending, *checkpoints, advanced,
                                          options.row_cache_bytes_max, committer.get()));
        ++stats.batches;
        in_batch = 0;
        std::fill(advanced.begin(), advanced.end(), false);
      }
      if (options.progress && stats.events % options.progress_interval_events == 0) {
        options.progress(seq, target);
      }
    }
    reader.Recycle(std::move(chunk));
  }
  MULIN_RETURN_IF_ERROR(reader.status());
  if (in_batch > 0) {
    MULIN_RETURN_IF_ERROR(
        CommitBatch(pending, *checkpoints, advanced, options.row_cache_bytes_max, committer.get()));
    ++stats.batches;
  }
  if (committer != nullptr) MULIN_RETURN_IF_ERROR(committer->Wait());
  if (options.progress) options.progress(target, target);
  return stats;
}

Status Engine::Drop(std::string_view name) {
  kept_rows_.reset();
  RowBatch batch;
  // The checkpoint key and every row key share the prefix name 0x00..0x01; dropping both tags in
  // one batch leaves no window where rows exist without the checkpoint that explains them.
  batch.drop_prefixes.push_back(CheckpointKey(name));
  batch.drop_prefixes.push_back(RowPrefix(name));
  return store_->Commit(std::move(batch));
}

}  // namespace mulin::projections
