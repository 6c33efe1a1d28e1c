/**
 * Keeps what the page scrolls to (a focused control, a link's target) clear
 * of sticky bars: while `bar` is shown, the document's scroll padding is the
 * bar's bottom edge, followed as the bar changes height (it wraps on narrow
 * screens). Without it, a control that keyboard focus (or a test's click)
 * scrolls into view lands under the bar, hidden and unclickable.
 */
import { onScopeDispose, watch, type ShallowRef } from 'vue'

/** Room left above a scrolled-to control, below the bar. */
const GAP_PX = 8

export function useStickyOffset (bar: Readonly<ShallowRef<HTMLElement | null | undefined>>): void {
  const root = document.documentElement
  const observer = new ResizeObserver(() => { update() })
  const update = (): void => {
    const el = bar.value
    // Where the bar's bottom edge sits once it sticks: its sticky offset plus its height.
    root.style.scrollPaddingTop = el === null || el === undefined ? '' : `${Math.ceil((Number.parseFloat(getComputedStyle(el).top) || 0) + el.offsetHeight) + GAP_PX}px`
  }
  watch(bar, (el, old) => {
    if (old !== null && old !== undefined) observer.unobserve(old)
    if (el !== null && el !== undefined) observer.observe(el)
    update()
  }, { immediate: true, flush: 'post' })
  onScopeDispose(() => {
    observer.disconnect()
    root.style.scrollPaddingTop = ''
  })
}
