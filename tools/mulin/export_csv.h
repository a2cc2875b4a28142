// `mulin export --format csv`: one row per posting (an event that moves nothing gets one row
// without a posting), so every fen of a statement can be traced to its event in a spreadsheet.
// CSV per DESIGN §5: UTF-8 with a byte-order mark, yuan with two decimals beside raw fen, times in
// Asia/Shanghai with the offset.
#ifndef MULIN_TOOLS_MULIN_EXPORT_CSV_H_
#define MULIN_TOOLS_MULIN_EXPORT_CSV_H_

#include "ledger/schema/event.capnp.h"
#include "projections/format.h"

namespace mulin::cli {

void WriteEventCsvHeader(projections::CsvWriter* csv);
void WriteEventCsvRows(schema::Event::Reader event, projections::CsvWriter* csv);

}  // namespace mulin::cli

#endif  // MULIN_TOOLS_MULIN_EXPORT_CSV_H_
