// The one strict JSON reader: every complaint names the field's path, what was expected and
// what was seen, in the same words whatever document is read.
#include "weightsync/internal/json_fields.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "weightsync/errors.h"

namespace weightsync::internal {
namespace {

using nlohmann::json;

std::string message_of(const std::function<void()>& read) {
  try {
    read();
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

TEST(JsonFields, WrongTypesNameThePathWhatWasExpectedAndWhatWasSeen) {
  const json doc = json::parse(R"({"a": {"n": "7", "s": 3, "b": 1, "list": [1, "x"]}})");
  JsonFields top(doc, "doc");
  JsonFields a(*top.child("a"), top.at("a"));
  EXPECT_EQ(message_of([&] { a.integer("n", 0, 9); }),
            "doc.a.n: expected an integer in [0, 9], got \"7\"");
  EXPECT_EQ(message_of([&] { a.text("s"); }), "doc.a.s: expected a non-empty string, got 3");
  EXPECT_EQ(message_of([&] { a.boolean("b"); }), "doc.a.b: expected true or false, got 1");
  EXPECT_EQ(message_of([&] { a.strings("list"); }), "doc.a.list[0]: expected a string, got 1");
  EXPECT_EQ(message_of([&] { JsonFields(json::array(), "doc.x"); }),
            "doc.x: expected a JSON object, got []");
}

TEST(JsonFields, MissingAndUnknownFieldsAreNamed) {
  const json doc = json::parse(R"({"name": "x", "colour": "red"})");
  JsonFields f(doc, "");
  EXPECT_EQ(message_of([&] { f.required_text("id"); }), "id: missing; expected a non-empty string");
  EXPECT_EQ(f.required_text("name"), "x");
  EXPECT_EQ(message_of([&] { f.finish(); }),
            "colour: unknown field (extra inputs are not permitted); expected one of id, name");
  EXPECT_EQ(message_of([&] { f.finish({"name"}); }),
            "colour: unknown field (extra inputs are not permitted); expected one of name");
  EXPECT_EQ(message_of([&] { f.finish({"name", "colour"}); }), "");
}

TEST(JsonFields, NullIsAbsentAndOutOfRangeIsRefused) {
  const json doc = json::parse(R"({"n": null, "big": 300, "text_n": "12", "kind": "b"})");
  JsonFields f(doc, "d");
  EXPECT_FALSE(f.integer("n", 0, 9).has_value());
  EXPECT_EQ(message_of([&] { f.integer("big", 0, 255); }),
            "d.big: expected an integer in [0, 255], got 300");
  EXPECT_EQ(f.int32("text_n"), 12);
  EXPECT_EQ(message_of([&] { f.one_of("kind", {"a", "c"}); }),
            "d.kind: expected one of 'a', 'c', got \"b\"");
}

TEST(JsonFields, ParseErrorsNameTheDocument) {
  const std::string message = message_of([] { parse_json<InvalidArgument>("{", "config"); });
  EXPECT_EQ(message.rfind("config: expected a JSON document, got a parse error (", 0), 0u)
      << message;
}

}  // namespace
}  // namespace weightsync::internal
