// tests/xprt/term_log_test.cc - the termination log: "who closed first".
#include "xprt/term_log.h"

#include <gtest/gtest.h>

namespace xstack::xprt {
namespace {

TEST(TermLogTest, EmptyLog) {
    term_log t;
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.packed(), 0u);
    EXPECT_EQ(t.to_string(), "-");
}

TEST(TermLogTest, KeepsEventsInOrder) {
    term_log t;
    t.add(term_loc::fd, term_type::shutr);
    t.add(term_loc::app, term_type::shutw);
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.to_string(), "fd.shutr,app.shutw");
}

TEST(TermLogTest, KeepsAtMostFourEvents) {
    term_log t;
    t.add(term_loc::fd, term_type::shutr);
    t.add(term_loc::fd, term_type::shutw);
    t.add(term_loc::hs, term_type::timeout);
    t.add(term_loc::xprt, term_type::rcv_err);
    t.add(term_loc::app, term_type::intercepted);  // the fifth is dropped: the first count
    EXPECT_EQ(t.size(), 4u);
    EXPECT_EQ(t.to_string(), "fd.shutr,fd.shutw,hs.timeout,xprt.rcv_err");
}

TEST(TermLogTest, ConsecutiveDuplicatesAreDropped) {
    term_log t;
    t.add(term_loc::fd, term_type::poll_err);
    t.add(term_loc::fd, term_type::poll_err);
    EXPECT_EQ(t.size(), 1u);
    t.add(term_loc::fd, term_type::poll_hup);
    t.add(term_loc::fd, term_type::poll_err);  // not consecutive: kept
    EXPECT_EQ(t.to_string(), "fd.poll_err,fd.poll_hup,fd.poll_err");
}

TEST(TermLogTest, BackendEventsArePrefixedAndDistinct) {
    term_log t;
    t.add(term_loc::fd, term_type::shutw, true);
    t.add(term_loc::fd, term_type::shutw, false);  // same event, other side: not a duplicate
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.to_string(), "bfd.shutw,fd.shutw");
    EXPECT_EQ(t.at(0), 0x91u) << "location nibble with the backend bit, then the type";
    EXPECT_EQ(t.at(1), 0x11u);
}

TEST(TermLogTest, PackedPutsTheFirstEventInTheLowByte) {
    term_log t;
    t.add(term_loc::hs, term_type::truncated_shutr);
    t.add(term_loc::xprt, term_type::snd_err, true);
    EXPECT_EQ(t.packed(), 0x25u | (0xB4u << 8));
}

TEST(TermLogTest, EveryLocationAndTypeHasAName) {
    const std::pair<term_loc, const char*> locs[] = {{term_loc::fd, "fd"},
                                                     {term_loc::hs, "hs"},
                                                     {term_loc::xprt, "xprt"},
                                                     {term_loc::app, "app"}};
    const std::pair<term_type, const char*> types[] = {
        {term_type::shutw, "shutw"},
        {term_type::shutr, "shutr"},
        {term_type::rcv_err, "rcv_err"},
        {term_type::snd_err, "snd_err"},
        {term_type::truncated_shutr, "truncated_shutr"},
        {term_type::truncated_rcv_err, "truncated_rcv_err"},
        {term_type::connect_err, "connect_err"},
        {term_type::intercepted, "intercepted"},
        {term_type::connect_poll_err, "connect_poll_err"},
        {term_type::poll_err, "poll_err"},
        {term_type::poll_hup, "poll_hup"},
        {term_type::timeout, "timeout"},
    };
    for (const auto& [loc, lname] : locs) {
        for (const auto& [type, tname] : types) {
            term_log t;
            t.add(loc, type);
            EXPECT_EQ(t.to_string(), std::string(lname) + "." + tname);
        }
    }
}

TEST(TermLogTest, ClearEmptiesTheLog) {
    term_log t;
    t.add(term_loc::fd, term_type::shutr);
    t.clear();
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.to_string(), "-");
    t.add(term_loc::fd, term_type::shutr);
    EXPECT_EQ(t.size(), 1u) << "no memory of the cleared last event";
}

}  // namespace
}  // namespace xstack::xprt
