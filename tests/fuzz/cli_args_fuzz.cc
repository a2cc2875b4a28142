// Fuzz target: the text options of the command verbs. The first byte picks a verb; the rest, split
// at line ends, fills its options in order through FillBody, which reads each by its schema type
// (integers strictly, times with ParseTimeUs, enums, delivery shares). Each value is also parsed as
// a time on its own, and a time written as `mulin` writes times must mean what it says: parsing
// "2026-02-31" or a 60th second into some other instant would date an effective-dated rule wrongly.
#include <capnp/message.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ledger/event_codec.h"
#include "projections/format.h"
#include "tools/mulin/command_verbs.h"

namespace {

bool IsDigits(const std::string& text, size_t from, size_t count) {
  for (size_t i = from; i < from + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

// "2026-03-01": a date as people write it.
bool IsDate(const std::string& t) {
  return t.size() == 10 && IsDigits(t, 0, 4) && t[4] == '-' && IsDigits(t, 5, 2) && t[7] == '-' &&
         IsDigits(t, 8, 2);
}

// "2026-03-01T08:00:00+08:00": a time exactly as FormatTime writes it.
bool IsShanghaiTime(const std::string& t) {
  return t.size() == 25 && IsDate(t.substr(0, 10)) && t[10] == 'T' && IsDigits(t, 11, 2) &&
         t[13] == ':' && IsDigits(t, 14, 2) && t[16] == ':' && IsDigits(t, 17, 2) &&
         t.compare(19, 6, "+08:00") == 0;
}

void CheckTime(const std::string& text) {
  mulin::Result<int64_t> us = mulin::cli::ParseTimeUs(text);
  if (!us.ok()) return;
  const std::string shown = mulin::projections::FormatTime(*us);
  if (IsShanghaiTime(text) && shown != text) __builtin_trap();
  if (IsDate(text) && shown != text + "T00:00:00+08:00") __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::vector<mulin::cli::Verb>& verbs = mulin::cli::AllVerbs();
  const mulin::cli::Verb& verb = verbs[data[0] % verbs.size()];
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::map<std::string, std::string> values;
  size_t start = 0;
  for (const mulin::cli::VerbOption& option : verb.options) {
    if (start > rest.size()) break;
    const size_t end = std::min(rest.size(), rest.find('\n', start));
    values[option.field] = rest.substr(start, end - start);
    CheckTime(values[option.field]);
    start = end + 1;
  }
  capnp::MallocMessageBuilder message;
  auto command = message.initRoot<mulin::schema::Command>();
  if (mulin::cli::FillBody(verb, values, command).ok()) {
    const std::string bytes = mulin::ledger::EncodeMessage(message);
    (void)bytes;
  }
  return 0;
}
