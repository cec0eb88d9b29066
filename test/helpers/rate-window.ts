/**
 * The worst window of a list of start times (ms) against a rate limit's bound,
 * per_second × t + max(1, per_second) starts in any t seconds. `slackMs` widens each window
 * (start times measured a little after the claim that counted them).
 */
export function worstWindow(starts: number[], perSecond: number, slackMs = 0): { count: number; allowed: number; seconds: number } {
  const s = [...starts].sort((a, b) => a - b);
  let worst = { count: 0, allowed: Infinity, seconds: 0, excess: -Infinity };
  for (let i = 0; i < s.length; i++)
    for (let j = i; j < s.length; j++) {
      const seconds = (s[j] - s[i]) / 1000;
      // In whole milliseconds first: 5 × 4.6 s is 22.999… in floating point, 5 × 4600 / 1000 is 23.
      const allowed = (perSecond * (s[j] - s[i] + slackMs)) / 1000 + Math.max(1, perSecond);
      const count = j - i + 1;
      if (count - allowed > worst.excess) worst = { count, allowed, seconds, excess: count - allowed };
    }
  return { count: worst.count, allowed: worst.allowed, seconds: worst.seconds };
}
