#version 450
// mesh.vert - one vertex shader per vertex format (VERTEX_FORMAT 0, 1, 2:
// 24, 32 and 36-byte vertices). Per-instance data comes from binding 1,
// selected by the draw's firstInstance.
#include "common.glsl"

layout(location = 0) in vec3 in_pos;
layout(location = 1) in vec3 in_nrm;
#if VERTEX_FORMAT >= 1
layout(location = 2) in vec2 in_uv;
#endif
#if VERTEX_FORMAT == 2
layout(location = 3) in vec4 in_color;
#endif
layout(location = 4) in vec4 inst_pos_scale;
layout(location = 5) in vec4 inst_tint_yaw;

layout(location = 0) out vec3 out_world;
layout(location = 1) out vec3 out_nrm;
layout(location = 2) out vec2 out_uv;
layout(location = 3) out vec4 out_color;

void main() {
    float c = cos(inst_tint_yaw.w), s = sin(inst_tint_yaw.w);
    mat3 rot = mat3(c, 0.0, -s, 0.0, 1.0, 0.0, s, 0.0, c);
    vec3 world = rot * (in_pos * inst_pos_scale.w) + inst_pos_scale.xyz;
    gl_Position = frame.view_proj * vec4(world, 1.0);
    out_world = world;
    out_nrm = rot * in_nrm;
#if VERTEX_FORMAT >= 1
    out_uv = in_uv;
#else
    out_uv = vec2(0.0);
#endif
#if VERTEX_FORMAT == 2
    out_color = vec4(in_color.rgb * inst_tint_yaw.rgb, 2.0);
#elif VERTEX_FORMAT == 1
    out_color = vec4(vec3(0.52, 0.49, 0.45) * inst_tint_yaw.rgb, 1.0);
#else
    out_color = vec4(1.0, 1.0, 1.0, 0.0);
#endif
}
