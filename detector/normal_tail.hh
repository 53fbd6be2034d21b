#pragma once

namespace roster::detector {

// The upper tail of the standard normal distribution, in the log10 form that phi needs.
//
// phi_of_z(z) = -log10(Q(z)), Q(z) = 1 - F(z) = erfc(z / sqrt 2) / 2.
//
// Approximation and error bound: for z <= 30 the value comes from std::erfc (glibc's erfc is
// within a few ulp, so the relative error of Q is below 1e-14 and the absolute error of phi
// below 1e-14). Beyond z = 30, where erfc nears the bottom of the double range, the Mills-ratio
// series Q(z) = pdf(z)/z * (1 - 1/z^2 + 3/z^4 - ...) is used, truncated after the z^-4 term:
// relative truncation error below 15/z^6 < 2e-8, so phi is within 1e-8. Unlike the logistic
// approximation of Akka (max absolute error 1.4e-4 in F, unbounded relative error in the tail),
// phi stays accurate at the large values where thresholds live.
[[nodiscard]] double phi_of_z(double z) noexcept;

// The inverse: the z at which phi_of_z(z) == phi, for phi > 0. Acklam's rational approximation
// of the normal quantile (relative error 1.15e-9) refined by Newton steps on log Q, so the
// result matches phi_of_z to about 1e-12. Used for the detector's thresholds and predictions,
// not per heartbeat. Returns -infinity for phi <= 0.
[[nodiscard]] double z_of_phi(double phi) noexcept;

} // namespace roster::detector
