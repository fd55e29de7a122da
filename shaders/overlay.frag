#version 450
// overlay.frag - flat colour with alpha (blended).
layout(location = 0) in vec4 in_color;
layout(location = 0) out vec4 out_color;

void main() {
    out_color = in_color;
}
