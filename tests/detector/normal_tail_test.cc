#include <cmath>

#include <gtest/gtest.h>

#include "detector/normal_tail.hh"
#include "tests/detector/reference_normal.hh"

namespace roster::detector {
namespace {

using testing::reference_phi;

TEST(normal_tail, phi_matches_the_direct_integral) {
    for (double z : {-4.0, -1.5, -0.3, 0.0, 0.5, 1.0, 2.0, 3.0, 4.5, 5.6, 7.0, 10.0, 15.0, 22.0, 29.9}) {
        const double expected = reference_phi(z);
        // Documented bound: 1e-12 absolute below z = 30 (we allow 1e-10 for the reference).
        EXPECT_NEAR(phi_of_z(z), expected, 1e-10 * std::max(1.0, expected)) << "z = " << z;
    }
}

TEST(normal_tail, asymptotic_branch_matches_the_direct_integral) {
    for (double z : {30.5, 32.0, 35.0}) {
        const double expected = reference_phi(z);
        EXPECT_NEAR(phi_of_z(z), expected, 1e-7) << "z = " << z;
    }
}

TEST(normal_tail, branches_meet_at_the_switch) {
    EXPECT_NEAR(phi_of_z(30.0), phi_of_z(std::nextafter(30.0, 31.0)), 1e-7);
}

TEST(normal_tail, phi_is_monotonic_in_z) {
    double previous = phi_of_z(-10.0);
    for (double z = -10.0; z < 60.0; z += 0.01) {
        const double p = phi_of_z(z);
        ASSERT_GE(p, previous) << "z = " << z;
        previous = p;
    }
    EXPECT_TRUE(std::isfinite(phi_of_z(1e6)));
}

TEST(normal_tail, z_of_phi_inverts_phi_of_z) {
    for (double phi : {0.01, 0.3, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 16.0, 50.0, 200.0, 290.0}) {
        const double z = z_of_phi(phi);
        EXPECT_NEAR(phi_of_z(z), phi, 1e-9 * std::max(1.0, phi)) << "phi = " << phi;
    }
    // Known quantile: phi = -log10(0.5) is the median, z = 0.
    EXPECT_NEAR(z_of_phi(-std::log10(0.5)), 0.0, 1e-12);
    // phi 8 <=> Q = 1e-8 <=> z = 5.612001244...
    EXPECT_NEAR(z_of_phi(8.0), 5.612001244174789, 1e-9);
}

TEST(normal_tail, z_of_phi_is_minus_infinity_for_nonpositive_phi) {
    EXPECT_TRUE(std::isinf(z_of_phi(0.0)));
    EXPECT_LT(z_of_phi(-1.0), 0.0);
}

} // namespace
} // namespace roster::detector
