// common.glsl - push constants shared by mesh.vert and mesh.frag.
layout(push_constant) uniform Frame {
    mat4 view_proj;
    vec4 eye_fog;   // camera position, fog distance
    vec4 sun;       // direction towards the sun, unused
} frame;
