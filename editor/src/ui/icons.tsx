/** Small inline icons (emoji fonts are not everywhere, headless browsers included). */
const common = { width: 14, height: 14, viewBox: '0 0 16 16', fill: 'none', stroke: 'currentColor', strokeWidth: 1.5, 'aria-hidden': true } as const;

export function FolderIcon() {
  return (
    <svg {...common} className="fc-icon">
      <path d="M1.5 4.5a1 1 0 0 1 1-1h3.2l1.5 1.6h6.3a1 1 0 0 1 1 1v6.4a1 1 0 0 1-1 1h-11a1 1 0 0 1-1-1z" fill="#e0b252" stroke="#b8892e" />
    </svg>
  );
}

export function DiceIcon() {
  return (
    <svg {...common} className="fc-icon">
      <rect x="2" y="2" width="12" height="12" rx="2.5" />
      <circle cx="5.3" cy="5.3" r="1" fill="currentColor" stroke="none" />
      <circle cx="8" cy="8" r="1" fill="currentColor" stroke="none" />
      <circle cx="10.7" cy="10.7" r="1" fill="currentColor" stroke="none" />
    </svg>
  );
}

export function TrashIcon() {
  return (
    <svg {...common} className="fc-icon">
      <path d="M2.5 4.5h11M6 4.5V3h4v1.5M4 4.5l.7 9h6.6l.7-9" />
    </svg>
  );
}
