#version 450
// overlay.vert - screen-space triangles in pixels (origin top-left).
layout(push_constant) uniform Overlay {
    vec2 inv_half_size; // 2 / framebuffer size
} overlay;

layout(location = 0) in vec2 in_pos;
layout(location = 1) in vec4 in_color;
layout(location = 0) out vec4 out_color;

void main() {
    gl_Position = vec4(in_pos * overlay.inv_half_size - 1.0, 0.0, 1.0);
    out_color = in_color;
}
