import TallyIndex

/// A small inline SVG line chart: one polyline per series (gaps where a value is
/// missing), dashed threshold lines coloured by the light they open.
enum SVGChart {
    static let width = 420.0, height = 160.0, pad = 30.0
    static let colours = ["#1f77b4", "#ff7f0e", "#9467bd", "#2ca02c"]

    static func render(id: String, title: String, lines: [(name: String, values: [Double?])],
                       thresholds: [(value: Double, light: Light)]) -> String {
        let values = lines.flatMap { $0.values.compactMap { $0 } }
        var top = max(values.max() ?? 1, 1e-12)
        // Thresholds within 3× of the data are drawn (the scale stretches to show them).
        let shown = thresholds.filter { $0.value > 0 && $0.value <= top * 3 }
        top = max(top, shown.map { $0.value }.max() ?? 0) * 1.05
        let count = lines.map { $0.values.count }.max() ?? 0
        func x(_ i: Int) -> Double { pad + (count > 1 ? Double(i) / Double(count - 1) : 0.5) * (width - 2 * pad) }
        func y(_ v: Double) -> Double { height - pad - v / top * (height - 2 * pad) }
        var svg = "<svg class=\"chart\" id=\"\(id)\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(Dashboard.escape(title))\">"
        svg += "<text x=\"\(pad)\" y=\"14\">\(Dashboard.escape(title))</text>"
        svg += "<line x1=\"\(pad)\" y1=\"\(height - pad)\" x2=\"\(width - pad)\" y2=\"\(height - pad)\" stroke=\"#999\"/>"
        svg += "<text x=\"2\" y=\"\(pad + 4)\">\(short(top))</text><text x=\"2\" y=\"\(height - pad)\">0</text>"
        for threshold in shown {
            let colour = threshold.light == .red ? "#d22" : "#e0b000"
            svg += "<line class=\"threshold\" data-light=\"\(threshold.light.rawValue)\" x1=\"\(pad)\" y1=\"\(fmt(y(threshold.value)))\" x2=\"\(width - pad)\" y2=\"\(fmt(y(threshold.value)))\" stroke=\"\(colour)\" stroke-dasharray=\"4 3\"/>"
        }
        for (n, line) in lines.enumerated() {
            let colour = colours[n % colours.count]
            var segment: [String] = []
            func flush() {
                if segment.count > 1 {
                    svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(segment.joined(separator: " "))\"/>"
                } else if let point = segment.first {
                    let xy = point.split(separator: ",")
                    svg += "<circle r=\"2\" fill=\"\(colour)\" cx=\"\(xy[0])\" cy=\"\(xy[1])\"/>"
                }
                segment = []
            }
            for (i, value) in line.values.enumerated() {
                if let value { segment.append("\(fmt(x(i))),\(fmt(y(value)))") } else { flush() }
            }
            flush()
            svg += "<text x=\"\(fmt(pad + Double(n) * 80))\" y=\"\(height - 8)\" fill=\"\(colour)\">\(Dashboard.escape(line.name))</text>"
        }
        return svg + "</svg>\n"
    }

    static func fmt(_ v: Double) -> String { UnitFormat.fixed(v, 1) }

    static func short(_ v: Double) -> String {
        v >= 100 ? UnitFormat.fixed(v, 0) : v >= 1 ? UnitFormat.fixed(v, 2) : UnitFormat.fixed(v, 4)
    }
}
