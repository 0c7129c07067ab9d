// HL7 v2 ER7 parsing and building (v2.5.1 Chapter 2): delimiters from MSH-1/MSH-2,
// repetitions, components, subcomponents, escape sequences, tolerant segment endings, errors
// naming segment and field; the original-mode ACK.
#include "hl7/message.h"

#include <gtest/gtest.h>

namespace radflow::hl7 {
namespace {

const char* kAdt =
    "MSH|^~\\&|LAB|HOSP|RADFLOW|RAD|20240501120000||ADT^A08^ADT_A01|MSG0001|P|2.5.1\r"
    "PID|1||12345^^^HOSP&1.2.3.4&ISO^MR~X99^^^OTHER^PI||Doe^John^Q^Jr^Dr||19700102|M\r"
    "OBX|1|TX|59776-5^Findings^LN||a \\F\\ b \\S\\ c \\T\\ d \\R\\ e \\E\\ f\\X0D0A\\g\\H\\bold\\N\\||||||F\r";

TEST(Hl7Message, ParsesFieldsComponentsSubcomponentsRepetitions) {
  auto m = Parse(kAdt);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->Type(), "ADT^A08");
  EXPECT_EQ(m->ControlId(), "MSG0001");
  EXPECT_EQ(m->Version(), "2.5.1");
  const Segment* msh = m->Find("MSH");
  ASSERT_NE(msh, nullptr);
  EXPECT_EQ(msh->Get(1), "|");
  EXPECT_EQ(msh->Get(2), "^~\\&");
  EXPECT_EQ(msh->Get(3), "LAB");
  EXPECT_EQ(msh->Get(9, 3), "ADT_A01");
  const Segment* pid = m->Find("PID");
  ASSERT_NE(pid, nullptr);
  EXPECT_EQ(pid->Repetitions(3), 2);
  EXPECT_EQ(pid->Get(3, 1), "12345");
  EXPECT_EQ(pid->Get(3, 4, 1), "HOSP");
  EXPECT_EQ(pid->Get(3, 4, 2), "1.2.3.4");
  EXPECT_EQ(pid->Get(3, 4, 3), "ISO");
  EXPECT_EQ(pid->Get(3, 5), "MR");
  EXPECT_EQ(pid->Get(3, 1, 1, 2), "X99");
  EXPECT_EQ(pid->Get(3, 5, 1, 2), "PI");
  EXPECT_EQ(pid->Get(5, 2), "John");
  EXPECT_EQ(pid->Get(8), "M");
  EXPECT_EQ(pid->Get(30), "");    // absent field
  EXPECT_EQ(pid->Get(5, 9), "");  // absent component
}

TEST(Hl7Message, DecodesEscapeSequences) {
  auto m = Parse(kAdt);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->Find("OBX")->Get(5), "a | b ^ c & d ~ e \\ f\r\ngbold");
}

TEST(Hl7Message, EncodeEscapesAndRoundTrips) {
  Message m;
  Segment& msh = m.Add("MSH");
  msh.Set(3, "RADFLOW");
  msh.SetComponents(9, {"ORU", "R01", "ORU_R01"});
  msh.Set(10, "C1");
  msh.Set(12, "2.5.1");
  Segment& obx = m.Add("OBX");
  obx.Set(1, "1");
  obx.Set(5, "size 5|6 ^ & ~ \\ done\nnext");
  obx.SetSubcomponents(3, 4, {"NS", "1.2.3", "ISO"});
  const std::string text = m.Encode();
  EXPECT_EQ(text.substr(0, 9), "MSH|^~\\&|");
  EXPECT_NE(text.find("size 5\\F\\6 \\S\\ \\T\\ \\R\\ \\E\\ done\\X0A\\next"), std::string::npos) << text;
  EXPECT_NE(text.find("|^^^NS&1.2.3&ISO|"), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\r');
  auto back = Parse(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Find("OBX")->Get(5), "size 5|6 ^ & ~ \\ done\nnext");
  EXPECT_EQ(back->Find("OBX")->Get(3, 4, 2), "1.2.3");
  EXPECT_EQ(back->Type(), "ORU^R01");
}

TEST(Hl7Message, UsesTheMessagesOwnDelimiters) {
  auto m = Parse("MSH#*@!$#A#B#C#D#20240101##ORU*R01#X1#P#2.5.1\rPID#1##ID1***NS$9.9$ISO\r");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->separators.field, '#');
  EXPECT_EQ(m->separators.component, '*');
  EXPECT_EQ(m->separators.repetition, '@');
  EXPECT_EQ(m->separators.escape, '!');
  EXPECT_EQ(m->separators.subcomponent, '$');
  EXPECT_EQ(m->Type(), "ORU^R01");
  EXPECT_EQ(m->Find("PID")->Get(3, 1), "ID1");
}

TEST(Hl7Message, ToleratesLineFeedsAndBlankLines) {
  auto m = Parse("\nMSH|^~\\&|A|B|C|D|20240101||ACK^R01|X|P|2.5.1\r\n\r\nMSA|AA|X\n");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->segments.size(), 2u);
  EXPECT_EQ(m->Find("MSA")->Get(1), "AA");
}

TEST(Hl7Message, ErrorsNameTheSegmentAndField) {
  auto not_msh = Parse("PID|1||123\r");
  ASSERT_FALSE(not_msh.ok());
  EXPECT_EQ(not_msh.status().message().substr(0, 4), "MSH:");
  auto bad_enc = Parse("MSH|^~|A|B\r");
  ASSERT_FALSE(bad_enc.ok());
  EXPECT_EQ(bad_enc.status().message().substr(0, 6), "MSH-2:");
  auto no_type = Parse("MSH|^~\\&|A|B|C|D|20240101|||X|P|2.5.1\r");
  ASSERT_FALSE(no_type.ok());
  EXPECT_EQ(no_type.status().message().substr(0, 6), "MSH-9:");
  auto bad_segment = Parse("MSH|^~\\&|A|B|C|D|20240101||ORU^R01|X|P|2.5.1\rpid|1\r");
  ASSERT_FALSE(bad_segment.ok());
  EXPECT_NE(bad_segment.status().message().find("segment 2"), std::string::npos);
}

TEST(Hl7Message, UnknownEscapesStayLiteral) {
  Separators s;
  EXPECT_EQ(Unescape("a\\Zfoo\\b", s), "a\\Zfoo\\b");
  EXPECT_EQ(Unescape("a\\Xzz\\b", s), "a\\Xzz\\b");
  EXPECT_EQ(Unescape("trailing \\", s), "trailing \\");
  EXPECT_EQ(Unescape("line\\.br\\two", s), "line\ntwo");
}

TEST(Hl7Ack, AcceptCarriesMsaAndSwapsApplications) {
  auto in = Parse(kAdt);
  ASSERT_TRUE(in.ok());
  auto ack = Parse(BuildAck(*in, "AA", "ok"));
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  const Segment* msh = ack->Find("MSH");
  EXPECT_EQ(msh->Get(3), "RADFLOW");
  EXPECT_EQ(msh->Get(5), "LAB");
  EXPECT_EQ(msh->Get(9, 1), "ACK");
  EXPECT_EQ(msh->Get(9, 2), "A08");
  EXPECT_EQ(msh->Get(9, 3), "ACK");
  EXPECT_FALSE(msh->Get(10).empty());
  EXPECT_NE(msh->Get(10), "MSG0001");
  EXPECT_EQ(msh->Get(12), "2.5.1");
  EXPECT_EQ(ack->Find("MSA")->Get(1), "AA");
  EXPECT_EQ(ack->Find("MSA")->Get(2), "MSG0001");
  EXPECT_EQ(ack->Find("ERR"), nullptr);
}

TEST(Hl7Ack, ErrorCarriesErrLocationAndCode) {
  auto in = Parse(kAdt);
  ASSERT_TRUE(in.ok());
  auto ack = Parse(BuildAck(*in, "AE", "PID-3: missing patient identifier", "PID^1^3"));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->Find("MSA")->Get(1), "AE");
  const Segment* err = ack->Find("ERR");
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->Get(2, 1), "PID");
  EXPECT_EQ(err->Get(2, 2), "1");
  EXPECT_EQ(err->Get(2, 3), "3");
  EXPECT_EQ(err->Get(3, 1), "101");
  EXPECT_EQ(err->Get(3, 3), "HL70357");
  EXPECT_EQ(err->Get(4), "E");
  EXPECT_EQ(err->Get(8), "PID-3: missing patient identifier");
  auto internal = Parse(BuildAck(*in, "AR", "database down", "", ErrorCondition::kApplicationInternalError));
  ASSERT_TRUE(internal.ok());
  EXPECT_EQ(internal->Find("ERR")->Get(3, 1), "207");
}

TEST(Hl7Ack, RejectOfUnparseableInputSalvagesMsh) {
  auto ack = Parse(BuildRejectAck("MSH|^~\\&|LAB|HOSP|RF|RAD|2024||ORU^R01|CTL9|P|2.5.1\rBAD SEGMENT\r", "bad"));
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(ack->Find("MSA")->Get(1), "AR");
  EXPECT_EQ(ack->Find("MSA")->Get(2), "CTL9");
  EXPECT_EQ(ack->Find("ERR")->Get(3, 1), "102");
  auto garbage = Parse(BuildRejectAck("not hl7 at all", "bad"));
  ASSERT_TRUE(garbage.ok());
  EXPECT_EQ(garbage->Find("MSA")->Get(1), "AR");
  EXPECT_EQ(garbage->Find("MSA")->Get(2), "");
}

TEST(Hl7Ack, ErrorLocationFromMessages) {
  EXPECT_EQ(ErrorLocation("PID-3: missing patient identifier"), "PID^1^3");
  EXPECT_EQ(ErrorLocation("OBR-25.1: bad"), "OBR^1^25^1^1");
  EXPECT_EQ(ErrorLocation("OBX: no report text"), "");
  EXPECT_EQ(ErrorLocation("segment 2: bad"), "");
}

TEST(Hl7Format, DtmAndControlIds) {
  EXPECT_EQ(FormatDtm(0), "19700101000000+0000");
  EXPECT_EQ(FormatDtm(1714564800123), "20240501120000+0000");
  const std::string a = NewControlId(), b = NewControlId();
  EXPECT_NE(a, b);
  EXPECT_LE(a.size(), 20u);
}

}  // namespace
}  // namespace radflow::hl7
