#include "projections/reconcile.h"

#include "ledger/verify.h"
#include "projections/codec.h"
#include "projections/engine.h"
#include "projections/invariants.h"
#include "projections/standard.h"

namespace mulin::projections {
namespace {

constexpr const char kMissing[] = "(missing)";
constexpr const char kAbsent[] = "(no such row)";
// Chain hashes in a report show this many leading bytes: enough to tell two apart.
constexpr size_t kChainShownBytes = 8;

std::string ChainText(const ledger::ChainHash& chain) {
  return ledger::HexEncode(chain.data(), kChainShownBytes) + "…";
}

std::string DescribeCheckpoint(std::string_view value) {
  Checkpoint checkpoint;
  if (!DecodeCheckpoint(value, &checkpoint)) return DescribeBytes(value);
  return "seq " + std::to_string(checkpoint.seq) + ", chain " + ChainText(checkpoint.chain);
}

// Compares the rows under `prefix` in `expected` and `found`, one merge pass in key order.
// `projection` describes the rows; `checkpoint` says `prefix` is its checkpoint key.
Status CompareRange(const RowStore& expected, const RowStore& found, const std::string& prefix,
                    const Projection& projection, bool checkpoint, DifferenceList* differences,
                    uint64_t* rows) {
  const std::string where(projection.name());
  auto subject = [&](std::string_view key) {
    return checkpoint ? std::string("checkpoint")
                      : projection.DescribeKey(key.substr(prefix.size()));
  };
  auto value_text = [&](std::string_view key, std::string_view value) {
    return checkpoint ? DescribeCheckpoint(value)
                      : projection.DescribeValue(key.substr(prefix.size()), value);
  };
  std::unique_ptr<RowIterator> e = expected.NewIterator();
  std::unique_ptr<RowIterator> f = found.NewIterator();
  auto in_range = [&](const RowIterator& it) {
    return it.Valid() && it.key().substr(0, prefix.size()) == prefix;
  };
  for (e->Seek(prefix), f->Seek(prefix); in_range(*e) || in_range(*f); ++*rows) {
    const int order = !in_range(*f) ? -1 : !in_range(*e) ? 1 : e->key().compare(f->key());
    if (order < 0) {
      differences->Add({where, subject(e->key()), value_text(e->key(), e->value()), kMissing});
      e->Next();
    } else if (order > 0) {
      differences->Add({where, subject(f->key()), kAbsent, value_text(f->key(), f->value())});
      f->Next();
    } else {
      if (e->value() != f->value()) {
        differences->Add({where, subject(e->key()), value_text(e->key(), e->value()),
                          value_text(f->key(), f->value())});
      }
      e->Next();
      f->Next();
    }
  }
  MULIN_RETURN_IF_ERROR(e->status());
  return f->status();
}

// A stored checkpoint must name a record the log holds, with that record's chain hash.
Status CheckStoredCheckpoint(const ledger::EventLog& log, const RowStore& stored, uint64_t head,
                             std::string_view name, DifferenceList* differences) {
  std::string value;
  Result<bool> found = stored.Get(CheckpointKey(name), &value);
  if (!found.ok()) return found.status();
  Checkpoint checkpoint;
  if (!*found) {
    // No checkpoint means an empty projection; rows without one were left by a torn drop or put
    // there behind the engine's back.
    bool has_rows = false;
    MULIN_RETURN_IF_ERROR(
        ScanPrefix(stored, RowPrefix(name), [&](std::string_view, std::string_view) {
          has_rows = true;
          return false;
        }));
    if (has_rows) {
      differences->Add(
          {std::string(name), "checkpoint", "a checkpoint for the stored rows", "(missing)"});
    }
    return Status::Ok();
  }
  if (!DecodeCheckpoint(value, &checkpoint)) return Status::Ok();  // the row compare lists it
  const std::string where(name);
  if (checkpoint.seq > head) {
    differences->Add({where, "checkpoint", "a seq at or before the head " + std::to_string(head),
                      "seq " + std::to_string(checkpoint.seq)});
    return Status::Ok();
  }
  Result<ledger::ChainHash> chain = ChainAt(log, checkpoint.seq);
  if (!chain.ok()) return chain.status();
  if (*chain != checkpoint.chain) {
    differences->Add({where, "checkpoint at seq " + std::to_string(checkpoint.seq),
                      "chain " + ChainText(*chain), "chain " + ChainText(checkpoint.chain)});
  }
  return Status::Ok();
}

// Folds the events the stored rows of `projection` lack into `view` (memory over the stored
// rows). A failure is a difference: the stored rows cannot be extended.
Status CatchUpStored(const ledger::EventLog& log, uint64_t head, Projection* projection,
                     const ReconcileOptions& reconcile, OverlayRowStore* view,
                     DifferenceList* differences) {
  Engine engine(view, {projection});
  CatchUpOptions options;
  options.to_seq = head;
  if (reconcile.progress) {
    options.progress = [&](uint64_t done, uint64_t total) {
      reconcile.progress("catch-up", done, total);
    };
  }
  options.check_chain = false;  // checked above; fold anyway so the row compare can list more
  Result<CatchUpStats> stats = engine.CatchUp(log, options);
  if (stats.ok()) return Status::Ok();
  if (stats.status().code() == Code::kIoError) return stats.status();
  differences->Add({std::string(projection->name()), "stored rows",
                    "rows that fold the events after their checkpoint", stats.status().ToString()});
  return Status::Ok();
}

}  // namespace

Result<ReconcileReport> Reconcile(const ledger::EventLog& log, const RowStore& stored,
                                  const ReconcileOptions& options) {
  ReconcileReport report;
  report.head = log.head();
  const uint64_t head = report.head.seq;
  DifferenceList differences(options.differences_max);

  ledger::VerifyOptions verify_options;
  if (options.progress) {
    verify_options.progress = [&](uint64_t done, uint64_t total) {
      options.progress("verify", done, total);
    };
  }
  Result<ledger::VerifyReport> verified = ledger::Verify(log, verify_options);
  if (!verified.ok()) return verified.status();
  report.chain = verified->problem;
  if (!report.chain.ok()) {
    differences.Add({"chain", "record " + std::to_string(report.chain.seq()),
                     "checksums and chain links that hold", report.chain.message()});
  }

  Result<std::unique_ptr<ScratchDb>> scratch = ScratchDb::Create(options.scratch_parent_dir);
  if (!scratch.ok()) return scratch.status();
  RowStore* rebuilt_rows = (*scratch)->rows();
  StandardProjections rebuilt;
  InvariantChecker checker(&log, &differences);
  std::vector<Projection*> folded = rebuilt.All();
  folded.push_back(&checker);
  Engine engine(rebuilt_rows, folded);
  CatchUpOptions catch_up;
  catch_up.to_seq = head;
  if (options.progress) {
    catch_up.progress = [&](uint64_t done, uint64_t total) {
      options.progress("rebuild", done, total);
    };
  }
  Result<CatchUpStats> stats = head == 0 ? CatchUpStats() : engine.CatchUp(log, catch_up);
  if (!stats.ok() && stats.status().code() == Code::kIoError) return stats.status();
  if (!stats.ok()) {
    // Nothing after the bad record can be rebuilt, so a row compare would only list noise.
    differences.Add({"log", "record " + std::to_string(stats.status().seq()),
                     "a record that decodes and folds", stats.status().message()});
  } else {
    report.events_replayed = stats->events;
    OverlayRowStore view(&stored);
    StandardProjections kept;
    for (Projection* projection : kept.All()) {
      const std::string_view name = projection->name();
      MULIN_RETURN_IF_ERROR(CheckStoredCheckpoint(log, stored, head, name, &differences));
      MULIN_RETURN_IF_ERROR(CatchUpStored(log, head, projection, options, &view, &differences));
      MULIN_RETURN_IF_ERROR(CompareRange(*rebuilt_rows, view, CheckpointKey(name), *projection,
                                         /*checkpoint=*/true, &differences, &report.rows_compared));
      MULIN_RETURN_IF_ERROR(CompareRange(*rebuilt_rows, view, RowPrefix(name), *projection,
                                         /*checkpoint=*/false, &differences,
                                         &report.rows_compared));
    }
    MULIN_RETURN_IF_ERROR(checker.Finish(*rebuilt_rows));
  }
  report.differences = differences.listed();
  report.differences_total = differences.total();
  return report;
}

}  // namespace mulin::projections
