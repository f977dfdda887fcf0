/** The layer a chart points at: the parent's `focused` when given, else its own hover. */
import { useCallback, useEffect, useRef, useState } from 'react';

/**
 * `activate` has one identity for the chart's whole life (so memoized cells are not redrawn when the
 * parent passes a new onFocus); it records the hover and tells the parent.
 */
export function useFocus(focused: number | null | undefined, onFocus: ((index: number | null) => void) | undefined) {
  const [hovered, setHovered] = useState<number | null>(null);
  const active = focused !== undefined ? focused : hovered;
  const onFocusRef = useRef(onFocus);
  useEffect(() => {
    onFocusRef.current = onFocus;
  }, [onFocus]);
  const activate = useCallback((position: number | null) => {
    setHovered(position);
    onFocusRef.current?.(position);
  }, []);
  return { active, activate };
}
