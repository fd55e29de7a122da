#version 450
// mesh.frag - sun and sky lighting with distance fog. The colour's alpha
// says what to shade: 0 terrain (colour from slope and height), 1 rock
// (banded by uv), 2 vertex colour.
#include "common.glsl"

layout(location = 0) in vec3 in_world;
layout(location = 1) in vec3 in_nrm;
layout(location = 2) in vec2 in_uv;
layout(location = 3) in vec4 in_color;

layout(location = 0) out vec4 out_color;

const vec3 SKY = vec3(0.58, 0.70, 0.84);

void main() {
    vec3 n = normalize(in_nrm);
    vec3 albedo = in_color.rgb;
    if (in_color.a < 0.5) {
        float slope = 1.0 - n.y;
        vec3 grass = mix(vec3(0.30, 0.46, 0.20), vec3(0.42, 0.50, 0.24),
                         clamp(in_world.y * 0.05 + 0.5, 0.0, 1.0));
        vec3 dirt = vec3(0.45, 0.38, 0.30);
        albedo = mix(grass, dirt, smoothstep(0.12, 0.35, slope));
        albedo = mix(albedo, vec3(0.92), smoothstep(26.0, 34.0, in_world.y));
    } else if (in_color.a < 1.5) {
        albedo *= 0.85 + 0.15 * sin(in_uv.y * 60.0 + in_uv.x * 6.0);
    }
    vec3 sun = normalize(frame.sun.xyz);
    float diffuse = max(dot(n, sun), 0.0);
    float sky = 0.5 + 0.5 * n.y;
    vec3 lit = albedo * (vec3(1.0, 0.95, 0.85) * diffuse * 0.9 + SKY * sky * 0.45);
    float dist = length(in_world - frame.eye_fog.xyz);
    float fog = 1.0 - exp(-pow(dist / frame.eye_fog.w, 2.0));
    out_color = vec4(mix(lit, SKY, fog), 1.0);
}
