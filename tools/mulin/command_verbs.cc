#include "tools/mulin/command_verbs.h"

#include <capnp/dynamic.h>
#include <capnp/schema.h>
#include <kj/exception.h>

#include <charconv>

#include "projections/format.h"

namespace mulin::cli {
namespace {

Result<int64_t> ParseInt(const std::string& field, const std::string& text, bool is_unsigned) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return Status::InvalidArgument(field + ": '" + text + "' is not a whole number" +
                                   (ec == std::errc::result_out_of_range ? " in range" : ""));
  }
  if (is_unsigned && value < 0) return Status::InvalidArgument(field + ": must not be negative");
  return value;
}

capnp::DynamicValue::Reader EnumValue(capnp::EnumSchema schema, const std::string& name,
                                      Status* status) {
  KJ_IF_MAYBE (enumerant, schema.findEnumerantByName(name)) {
    return capnp::DynamicEnum(*enumerant);
  }
  std::string known;
  for (auto e : schema.getEnumerants())
    known += std::string(known.empty() ? "" : ", ") + e.getProto().getName().cStr();
  *status = Status::InvalidArgument("'" + name + "' is not one of: " + known);
  return capnp::DynamicEnum(schema.getEnumerants()[0]);
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) return parts;
    start = comma + 1;
  }
}

Status FillShares(const std::string& field, const std::string& text,
                  capnp::DynamicStruct::Builder body) {
  std::vector<std::string> parts = SplitComma(text);
  auto list = body.init(field, parts.size()).as<capnp::DynamicList>();
  for (size_t i = 0; i < parts.size(); ++i) {
    const size_t colon = parts[i].rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return Status::InvalidArgument(field + ": '" + parts[i] + "' is not VOLUNTEER:MINUTES");
    }
    Result<int64_t> minutes = ParseInt(field, parts[i].substr(colon + 1), false);
    if (!minutes.ok()) return minutes.status();
    auto share = list[i].as<capnp::DynamicStruct>();
    share.set("volunteerId", capnp::Text::Reader(parts[i].substr(0, colon).c_str()));
    share.set("minutes", *minutes);
  }
  return Status::Ok();
}

Status FillList(capnp::StructSchema::Field field, const std::string& text,
                capnp::DynamicStruct::Builder body) {
  const std::string name = field.getProto().getName().cStr();
  capnp::ListSchema list_schema = field.getType().asList();
  if (list_schema.whichElementType() == capnp::schema::Type::STRUCT) {
    return FillShares(name, text, body);
  }
  if (list_schema.whichElementType() != capnp::schema::Type::ENUM) {
    return Status::InvalidArgument(name + ": this list cannot be given on the command line");
  }
  std::vector<std::string> parts = SplitComma(text);
  auto list = body.init(name, parts.size()).as<capnp::DynamicList>();
  for (size_t i = 0; i < parts.size(); ++i) {
    Status status;
    auto value = EnumValue(list_schema.getEnumElementType(), parts[i], &status);
    if (!status.ok()) return Status::InvalidArgument(name + ": " + status.message());
    list.set(i, value);
  }
  return Status::Ok();
}

Status FillField(capnp::StructSchema::Field field, const std::string& text,
                 capnp::DynamicStruct::Builder body) {
  const std::string name = field.getProto().getName().cStr();
  using T = capnp::schema::Type;
  switch (field.getType().which()) {
    case T::TEXT:
      body.set(name, capnp::Text::Reader(text.c_str(), text.size()));
      return Status::Ok();
    case T::BOOL:
      if (text != "true" && text != "false") {
        return Status::InvalidArgument(name + ": expected true or false");
      }
      body.set(name, text == "true");
      return Status::Ok();
    case T::INT8:
    case T::INT16:
    case T::INT32:
    case T::INT64:
    case T::UINT8:
    case T::UINT16:
    case T::UINT32:
    case T::UINT64: {
      const bool is_time = name.size() > 2 && name.compare(name.size() - 2, 2, "Us") == 0;
      Result<int64_t> value = is_time ? ParseTimeUs(text) : ParseInt(name, text, false);
      if (!value.ok()) return Status::InvalidArgument(name + ": " + value.status().message());
      KJ_IF_MAYBE (exception, kj::runCatchingExceptions([&] { body.set(name, *value); })) {
        return Status::InvalidArgument(name + ": " + text + " is out of range");
      }
      return Status::Ok();
    }
    case T::ENUM: {
      Status status;
      auto value = EnumValue(field.getType().asEnum(), text, &status);
      if (!status.ok()) return Status::InvalidArgument(name + ": " + status.message());
      body.set(name, value);
      return Status::Ok();
    }
    case T::LIST:
      return FillList(field, text, body);
    default:
      return Status::InvalidArgument(name + ": cannot be given on the command line");
  }
}

}  // namespace

Status FillBody(const Verb& verb, const std::map<std::string, std::string>& values,
                schema::Command::Builder command) {
  capnp::DynamicStruct::Builder dynamic = command;
  auto body_group = dynamic.get("body").as<capnp::DynamicStruct>();
  auto body = body_group.init(verb.body_field).as<capnp::DynamicStruct>();
  for (const auto& [field_name, text] : values) {
    KJ_IF_MAYBE (field, body.getSchema().findFieldByName(field_name)) {
      MULIN_RETURN_IF_ERROR(FillField(*field, text, body));
    } else {
      return Status::InvalidArgument(std::string(verb.name) + " has no field " + field_name);
    }
  }
  return Status::Ok();
}

Result<int64_t> ParseTimeUs(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    return ParseInt("time", text, true);  // raw µs since epoch
  }
  return projections::ParseTime(text);
}

}  // namespace mulin::cli
