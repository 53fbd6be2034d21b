#pragma once

#include <cmath>

// The upper normal tail Q(z) straight from its definition, by numerical integration in long
// double, independent of std::erfc: Q(z) = pdf(z) * integral_0^inf exp(-z s - s^2/2) ds.
// The integrand is smooth and of order 1, so Simpson's rule gives ~1e-15 relative accuracy
// at any z >= -8. Slow (for tests only).
namespace roster::detector::testing {

inline long double reference_q(long double z) {
    const long double pdf = std::exp(-z * z / 2) / std::sqrt(2 * 3.14159265358979323846264338327950288L);
    // exp(-z s - s^2/2) is below 1e-30 once s > z_hi.
    const long double upper = 12.0L + (z < 0 ? -2 * z : 0);
    const int n = 200'000; // even
    const long double h = upper / n;
    long double sum = 0;
    for (int i = 0; i <= n; ++i) {
        const long double s = i * h;
        const long double f = std::exp(-z * s - s * s / 2);
        const int w = (i == 0 || i == n) ? 1 : (i % 2 == 1 ? 4 : 2);
        sum += w * f;
    }
    return pdf * sum * h / 3;
}

inline double reference_phi(double z) { return static_cast<double>(-std::log10(reference_q(z))); }

} // namespace roster::detector::testing
