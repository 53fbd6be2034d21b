#include "detector/normal_tail.hh"

#include <cmath>
#include <limits>
#include <numbers>

namespace roster::detector {

namespace {

constexpr double asymptotic_from = 30.0;

// log(Q(z)) for large z from the Mills-ratio series.
double log_q_asymptotic(double z) noexcept {
    const double z2 = z * z;
    const double series = 1.0 - 1.0 / z2 + 3.0 / (z2 * z2);
    return -0.5 * z2 - std::log(z * std::sqrt(2.0 * std::numbers::pi)) + std::log(series);
}

// Acklam's approximation of the lower-tail normal quantile F^-1(p), 0 < p < 1.
double acklam_quantile(double p) noexcept {
    static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                                   1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
    static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                   6.680131188771972e+01, -1.328068155288572e+01};
    static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                   -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
    static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                   3.754408661907416e+00};
    constexpr double p_low = 0.02425;
    if (p < p_low) {
        const double q = std::sqrt(-2.0 * std::log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
    }
    if (p <= 1.0 - p_low) {
        const double q = p - 0.5;
        const double r = q * q;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
               (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
    }
    const double q = std::sqrt(-2.0 * std::log(1.0 - p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
}

} // namespace

double phi_of_z(double z) noexcept {
    if (z > asymptotic_from) {
        return -log_q_asymptotic(z) / std::numbers::ln10;
    }
    // 0.0 - x rather than -x: Q(z) rounds to exactly 1 for very negative z, and phi should then
    // be +0, not -0.
    return 0.0 - std::log10(0.5 * std::erfc(z / std::numbers::sqrt2));
}

double z_of_phi(double phi) noexcept {
    if (!(phi > 0.0)) {
        return -std::numeric_limits<double>::infinity();
    }
    const double log_p = -phi * std::numbers::ln10; // log(Q(z)) we are after
    // Start from the quantile when the tail probability is representable, else from the
    // leading terms of the asymptotic series (z^2 ~ -2 log p).
    double z = log_p > std::log(1e-300) ? -acklam_quantile(std::exp(log_p)) : std::sqrt(-2.0 * log_p);
    // Newton steps on g(z) = log Q(z) - log p, g'(z) = -pdf(z)/Q(z). Working in logs keeps the
    // step well conditioned deep in the tail; three steps are more than enough from Acklam's start.
    for (int i = 0; i < 4; ++i) {
        double log_q = 0.0;
        double log_pdf = -0.5 * z * z - 0.5 * std::log(2.0 * std::numbers::pi);
        if (z > asymptotic_from) {
            log_q = log_q_asymptotic(z);
        } else {
            log_q = std::log(0.5 * std::erfc(z / std::numbers::sqrt2));
        }
        const double g = log_q - log_p;
        const double slope = -std::exp(log_pdf - log_q);
        z -= g / slope;
    }
    return z;
}

} // namespace roster::detector
