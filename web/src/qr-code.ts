import encodeQR from 'qr';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** The quiet zone the QR specification asks for around the symbol, in modules. */
const QUIET_ZONE = 4;

/**
 * `text` as a QR code: an `<svg>` built node by node (one path for the dark modules),
 * so it needs no markup string, no `data:` image and no inline style, which the page's
 * Content-Security-Policy would refuse. Medium error correction, as authenticator apps
 * expect of an otpauth:// URI; scales with CSS without blurring.
 */
export function qrCode(text: string, label: string): SVGSVGElement {
  const modules = encodeQR(text, 'raw', { ecc: 'medium', border: QUIET_ZONE });
  const size = modules.length;
  const svg = svgElement('svg', { viewBox: `0 0 ${size} ${size}`, role: 'img', 'aria-label': label, class: 'qr', 'shape-rendering': 'crispEdges' });
  const dark = modules.flatMap((row, y) => row.map((on, x) => (on ? `M${x} ${y}h1v1h-1z` : ''))).join('');
  svg.append(svgElement('rect', { width: size, height: size, fill: '#fff' }), svgElement('path', { d: dark, fill: '#000' }));
  return svg;
}

function svgElement<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}
