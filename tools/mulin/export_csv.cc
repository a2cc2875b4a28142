#include "tools/mulin/export_csv.h"

#include "ledger/domain/postings.h"
#include "ledger/event_codec.h"
#include "projections/projection.h"

namespace mulin::cli {

void WriteEventCsvHeader(projections::CsvWriter* csv) {
  csv->Row({"seq", "recorded_at", "kind", "community", "actor", "request_id", "account", "unit",
            "amount", "amount_yuan"});
}

void WriteEventCsvRows(schema::Event::Reader event, projections::CsvWriter* csv) {
  std::vector<std::string> common = {std::to_string(event.getSeq()),
                                     projections::FormatTime(event.getRecordedAtUs()),
                                     ledger::EventKindName(event.getBody().which()),
                                     projections::CsvText(event.getCommunityId().cStr()),
                                     projections::CsvText(event.getActorId().cStr()),
                                     projections::CsvText(event.getRequestId().cStr())};
  const std::vector<domain::Posting> postings = domain::Postings(event);
  if (postings.empty()) {
    std::vector<std::string> row = common;
    row.insert(row.end(), {"", "", "", ""});
    csv->Row(row);
    return;
  }
  for (const domain::Posting& posting : postings) {
    std::vector<std::string> row = common;
    row.push_back(projections::CsvText(posting.account));
    row.push_back(projections::UnitName(posting.unit));
    row.push_back(std::to_string(posting.delta));
    row.push_back(posting.unit == schema::Unit::FEN ? projections::FormatYuan(posting.delta) : "");
    csv->Row(row);
  }
}

}  // namespace mulin::cli
